"""The first page's prepared statement on a table that grew after it was planned (issue 24, item 2).

Seeds 100 users x 50 tasks (each in its owner's Inbox), analyses, prepares the first page's
statement exactly as the API sends it (bench/pgbench/list50.sql, `NewestTasksStatement`) and
runs it seven times, so PostgreSQL caches a generic plan; then grows the table twentyfold
without an analyse and explains the cached plan, and then the plan after an ANALYZE. Then the
same with the project's limit in sight of the planner (`LIMIT 51` for `LIMIT (SELECT 51)`), the
statement the API sent before. Run it inside scripts/with-postgres.sh after `swift build` (it
migrates a throw-away database with the debug binary):
    scripts/with-postgres.sh python3 bench/plans/generic_plan_on_grown_table.py
"""
import os
import subprocess
import sys
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from bench import prepared_form, script_texts  # noqa: E402

base = os.environ["TEST_DATABASE_URL"].split("?")[0]
[statement] = script_texts((REPO / "bench" / "pgbench" / "list50.sql").read_text())
sent, _ = prepared_form(statement)
visible = sent.replace("LIMIT (SELECT 51)", "LIMIT 51")
assert visible != sent, "the statement no longer hides its limit"


def tasks(count: int, sign: str) -> str:
    """`count` tasks spread over the 100 users' Inboxes, older (-) or newer (+) than now."""
    return (f"INSERT INTO tasks (user_id, project_id, title, position, created_at, updated_at) "
            f"SELECT p.created_by, p.id, 't' || g, g, now() {sign} g * interval '1 second', now() "
            f"FROM generate_series(1, {count}) g JOIN projects p ON p.created_by = 'u' || (g % 100 + 1) AND p.is_inbox;")


def explain(title: str, newest: str) -> None:
    """The plans of `newest` on a throw-away database, under `title`."""
    name = "plan_" + uuid.uuid4().hex[:8]
    subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {name}"], check=True)
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        env = {**os.environ, "DATABASE_URL": url + "?sslmode=disable", "LOG_LEVEL": "error"}
        subprocess.run([str(REPO / ".build" / "debug" / "todo"), "migrate"], env=env, check=True)
        script = f"""
ALTER TABLE tasks SET (autovacuum_enabled = false);
INSERT INTO users (id, email, password_hash, created_at) SELECT 'u' || g, 'u' || g || '@x.io', 'x', now() FROM generate_series(1, 100) g;
{tasks(5000, '-')}
ANALYZE;
PREPARE newest(text) AS {newest};
\\o /dev/null
EXECUTE newest('u1'); EXECUTE newest('u2'); EXECUTE newest('u3'); EXECUTE newest('u4'); EXECUTE newest('u5'); EXECUTE newest('u6'); EXECUTE newest('u7');
\\o
\\echo == the cached plan, 50 tasks per user
EXPLAIN (COSTS OFF) EXECUTE newest('u7');
{tasks(100000, '+')}
\\echo == the cached plan after the table grew twentyfold, no analyse
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE newest('u7');
ANALYZE tasks;
\\echo == after ANALYZE (the cached plan is invalidated and planned again)
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) EXECUTE newest('u7');
"""
        result = subprocess.run(["psql", url, "-qAt", "-v", "ON_ERROR_STOP=1"], input=script, capture_output=True, text=True)
        print(f"######## {title}\n{result.stdout}{result.stderr}")
    finally:
        subprocess.run(["psql", base, "-qc", f"DROP DATABASE {name} WITH (FORCE)"])


explain("the statement as the API sends it (LIMIT (SELECT 51) in a project's part)", sent)
explain("the same with the limit in sight of the planner (LIMIT 51), as sent before", visible)
