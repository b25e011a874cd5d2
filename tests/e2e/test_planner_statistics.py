"""PostgreSQL plans on fresh statistics: a large import analyses `tasks` at once, and autovacuum
analyses it after 2 % of its rows changed (migration 11) instead of 10 %."""
import subprocess
import time

from server import Client


def statistics(psql, url):
    """(analyses so far, rows changed since the last one) of the tasks table."""
    out = subprocess.run([psql, url, "-qAtc",
                          "SELECT coalesce(analyze_count, 0) + coalesce(autoanalyze_count, 0), n_mod_since_analyze "
                          "FROM pg_stat_user_tables WHERE relname = 'tasks'"],
                         check=True, capture_output=True, text=True).stdout.strip()
    analyses, changed = out.split("|")
    return int(analyses), int(changed)


def settled(psql, url, condition):
    """The statistics once `condition` holds of them: backends report theirs within a second or so."""
    deadline = time.monotonic() + 5
    while True:
        figures = statistics(psql, url)
        if condition(*figures) or time.monotonic() > deadline:
            return figures
        time.sleep(0.1)


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

    before, _ = statistics(psql, admin)
    imported(999)
    analyses, changed = settled(psql, admin, lambda analyses, changed: changed >= 999)
    assert analyses == before and changed >= 999, "999 tasks are below the size that analyses"
    imported(1000)
    analyses, changed = settled(psql, admin, lambda analyses, changed: analyses > before)
    assert analyses == before + 1 and changed == 0, (analyses, changed)
