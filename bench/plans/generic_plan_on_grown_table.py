"""The first page's prepared statement on a table that grew after it was planned (issue 24, item 2).

Seeds 100 users x 50 tasks, analyses, prepares the default first page's query (as
NewestTasksStatement does) and runs it seven times, so PostgreSQL caches a generic plan; then
grows the table twentyfold without an analyse and explains the cached plan. Run it inside
scripts/with-postgres.sh after `swift build` (it migrates a throw-away database with the debug
binary):  scripts/with-postgres.sh python3 bench/plans/generic_plan_on_grown_table.py
PRE='SQL' runs SQL before the first analyse; RPC='SET ...;' runs in the session first.
"""
import os, subprocess, uuid
base = os.environ["TEST_DATABASE_URL"].split("?")[0]
psql = "psql"
name = "plan_" + uuid.uuid4().hex[:8]
subprocess.run([psql, base, "-qc", f"CREATE DATABASE {name}"], check=True)
url = base.rsplit("/", 1)[0] + "/" + name
env = {**os.environ, "DATABASE_URL": url + "?sslmode=disable", "LOG_LEVEL": "error"}
subprocess.run([str(__import__("pathlib").Path(__file__).resolve().parents[2] / ".build" / "debug" / "todo"), "migrate"], env=env, check=True)
def q(sql):
    r = subprocess.run([psql, url, "-qAtc", sql], capture_output=True, text=True)
    if r.returncode: print(r.stderr)
    return r.stdout
q("ALTER TABLE tasks SET (autovacuum_enabled = false)")
q("""INSERT INTO users (id, email, password_hash, created_at) SELECT 'u' || g, 'u' || g || '@x.io', 'x', now() FROM generate_series(1, 100) g""")
q("""INSERT INTO tasks (user_id, title, created_at, updated_at) SELECT 'u' || (g % 100 + 1), 't' || g, now() - g * interval '1 second', now() FROM generate_series(1, 5000) g""")
q(os.environ.get("PRE", "SELECT 1")); q("ANALYZE tasks")
session = os.environ.get("RPC", "")
script = f"""
{session}
PREPARE newest(text) AS SELECT id FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 51;
EXECUTE newest('u1'); EXECUTE newest('u2'); EXECUTE newest('u3'); EXECUTE newest('u4'); EXECUTE newest('u5'); EXECUTE newest('u6'); EXECUTE newest('u7');
EXPLAIN EXECUTE newest('u7');
INSERT INTO tasks (user_id, title, created_at, updated_at) SELECT 'u' || (g % 100 + 1), 't' || g, now() + g * interval '1 second', now() FROM generate_series(1, 100000) g;
EXPLAIN ANALYZE EXECUTE newest('u7');
"""
r = subprocess.run([psql, url, "-qAt"], input=script, capture_output=True, text=True)
print(r.stdout[-3000:], r.stderr[-500:])
subprocess.run([psql, base, "-qc", f"DROP DATABASE {name} WITH (FORCE)"])
