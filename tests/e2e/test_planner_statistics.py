"""PostgreSQL plans on fresh statistics: a large import analyses `tasks` at once, and autovacuum
analyses it after 2 % of its rows changed (migration 11) instead of 10 %."""
import subprocess

from server import Client


def analyses(psql, url):
    """How often the tasks table was analysed. PostgreSQL counts an analysis at once (changed
    rows, by contrast, are reported up to 10 s later, so the test does not read them)."""
    out = subprocess.run([psql, url, "-qAtc",
                          "SELECT coalesce(analyze_count, 0) + coalesce(autoanalyze_count, 0) "
                          "FROM pg_stat_user_tables WHERE relname = 'tasks'"],
                         check=True, capture_output=True, text=True).stdout.strip()
    return int(out)


def test_a_large_import_analyses_the_tasks_table_and_a_small_one_does_not(start, postgres_url):
    url, (psql, admin) = postgres_url
    api = start("api", DATABASE_URL=url)
    api.wait_ready()
    user = Client(api.base)
    reloptions = subprocess.run([psql, admin, "-qAtc", "SELECT reloptions FROM pg_class WHERE relname = 'tasks'"],
                                check=True, capture_output=True, text=True).stdout
    assert "autovacuum_analyze_scale_factor=0.02" in reloptions and "autovacuum_analyze_threshold=1000" in reloptions

    def imported(count):
        document = {"format": "todo-export", "version": 1, "tasks": [{"title": f"task {i}"} for i in range(count)]}
        reply = user.session.post(user.url("/import"), json=document, timeout=60)
        assert reply.status_code == 200, reply.text

    before = analyses(psql, admin)
    imported(999)
    assert analyses(psql, admin) == before, "999 tasks are below the size that analyses"
    imported(1000)
    assert analyses(psql, admin) == before + 1
