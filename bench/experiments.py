#!/usr/bin/env python3
"""What-if experiments behind the profile findings in bench/RESULTS.md. They change only the
throw-away database of the run (never the Swift code or the repository):

  stats     list50 on freshly seeded data without planner statistics, then after VACUUM ANALYZE
  trigger   create with the events trigger as shipped and with it disabled (fsync on): what the
            outbox of live events costs; WAL syncs per commit from pg_stat_wal. (Until migration 3
            the trigger also called pg_notify: results/2026-11-23-1215-experiments.md.)
  pool      create and list50 with DATABASE_POOL_SIZE=5/10/20/30 (trigger as shipped)
  webhooks  pgbench's durable create (bench/pgbench/create.sql) with the event function as
            shipped, the same function without its webhook-queueing statement, and with one webhook
            per user (a delivery row per create), alternating twice: what the webhook outbox costs
            a create in the database
  ab        list50, get_one and create with --bin and --compare-bin, alternating twice, each binary
            on a fresh database (to see what a change to the code bought)
  shared    list50 of the same users before and after each became a member (editor) of three
            shared projects of 50 tasks each, alternating twice, on --bin: what sharing costs a list
  grown     list50 on a new install's 20 users x 40 tasks (analysed), then after the create
            workload grew the table twentyfold with autovacuum off for `tasks` (no analyse: the
            plans cached on the small table stay), then after VACUUM ANALYZE; on --bin and, if
            given, --compare-bin. Robust plans keep the grown, unanalysed figure within 20 % of
            the analysed one

usage: python3 bench/experiments.py [--bin .build/release/todo] [--duration 10] [--wait-for-builds 900]
                                   [--compare-bin OTHER] [stats] [trigger] [pool] [ab] [shared] [grown]
Prints a Markdown table per experiment. PostgreSQL only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def settled_activity(db: bench.Postgres) -> dict:
    time.sleep(11)  # PostgreSQL 15 backends publish their counters after being idle a while
    return db.activity()


def measure(name: str, workload: str, backend, db, data, work, args) -> dict:
    bench.wait_for_builds(args, {backend.pid, *db.pids()})
    before = settled_activity(db)
    busy, others = bench.busy_processes({backend.pid, *db.pids()}, seconds=1)
    result = bench.run_wrk(workload, backend, db, data, work, args.duration, 2, 64)
    after = settled_activity(db)
    requests = max(1, result["requests"])
    syncs = after["wal_sync"] - before["wal_sync"]
    row = {
        "name": name, "workload": workload, "rps": result["rps"], "p50": result["latency_ms"]["p50"],
        "p99": result["latency_ms"]["p99"], "errors": result["non_2xx"] + result["socket_errors_total"],
        "cpu": result["cpu_cores"], "syncs_per_request": round(syncs / requests, 3),
        "statements_per_request": round((after["xact_commit"] - before["xact_commit"]) / requests, 2),
        "tuples_per_request": round((after["tup_returned"] - before["tup_returned"]) / requests, 1),
        "busy_before": busy, "others": ", ".join(f"{p['comm']} ({p['cores']})" for p in others),
    }
    bench.log(f"{name} {workload}: {row}")
    return row


def table(rows: list[dict]) -> str:
    lines = ["| experiment | workload | req/s | p50 ms | p99 ms | errors | statements / request | WAL syncs / request | "
             "tuples read / request | CPU backend / db / wrk / other | busy before (other processes) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        c = r["cpu"]
        lines.append(f"| {r['name']} | {r['workload']} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | "
                     f"{r['statements_per_request']} | {r['syncs_per_request']} | {r['tuples_per_request']} | {c['backend']:.2f} / {c['database']:.2f} / "
                     f"{c['wrk']:.2f} / {c['other']:.2f} | {r['busy_before']:.2f} {r['others']} |")
    return "\n".join(lines)


def webhook_outbox(db, seeded: dict, work: Path, args) -> list[str]:
    """pgbench creates under three configurations. The backend is stopped first, so that no
    sender claims the queued deliveries meanwhile; pgbench's CPU accounting then watches this
    process, which only waits."""
    accounts = seeded["accounts"]
    idle = types.SimpleNamespace(pid=bench.os.getpid())
    # A create's events are recorded by the statement trigger's function (migration 21).
    shipped = db.sql("SELECT pg_get_functiondef('tasks_record_inserts'::regproc)").strip()
    # The shipped function with only its events insert, less the webhook_deliveries insert that
    # reads the events it returns: the function before webhooks.
    events_only = bench.re.search(r"WITH recorded AS \(\s*(INSERT INTO events.*?)\s*RETURNING[^)]*\)", shipped, flags=bench.re.S)
    without = bench.re.sub(r"WITH recorded AS.*?;", events_only.group(1) + ";", shipped, flags=bench.re.S) if events_only else shipped
    if without == shipped:
        raise SystemExit("the event function has no webhook-queueing statement to take out")
    subscribe = "; ".join(f"INSERT INTO webhooks VALUES ('bench-{n}', '{a['id']}', 'https://hooks.example/', 'task.created', 'whsec_eA==', now())"
                          for n, a in enumerate(accounts))
    configurations = {
        "event function as shipped, no webhooks": [shipped, "DELETE FROM webhooks"],
        "without the queueing statement": [without],
        "as shipped, one webhook per user (a delivery per create)": [shipped, subscribe],
    }
    lines = ["| configuration (round) | create tps | p99 ms | database CPU ms / create |", "|---|---:|---:|---:|"]
    for round_number in (1, 2):
        for name, statements in configurations.items():
            for statement in statements:
                db.sql(statement)
            bench.wait_for_builds(args, set(db.pids()))
            result = bench.run_pgbench("create", db, idle, accounts, 200, work, 16, 2, args.duration)
            bench.log(f"webhooks {name} ({round_number}): tps {result['tps']}, cpu {result['cpu_ms_per_transaction']}")
            lines.append(f"| {name} ({round_number}) | {result['tps']:,.0f} | {result['latency_ms']['p99']:.2f} | "
                         f"{result['cpu_ms_per_transaction']['database']:.3f} |")
    return lines


def share_projects(backend, accounts: list[dict], tasks_per_project: int = 50, members: int = 3) -> None:
    """Each user makes a project of `tasks_per_project` tasks and invites the next `members`
    users as editors, who accept by the invitation's link: everyone is then a member of `members`
    projects of others. Through the API, as people would."""
    def call(method, path, body, token, expect):
        status, data = backend.request(method, path, body, token)
        if status != expect:
            raise RuntimeError(f"{method} {path} answered {status}: {data[:300]!r}")
        return json.loads(data) if data else None

    emails = [call("GET", "/api/auth/me", None, a["token"], 200)["email"] for a in accounts]
    for u, owner in enumerate(accounts):
        project = call("POST", "/api/me/projects", {"name": f"Shared {u}"}, owner["token"], 201)["id"]
        for i in range(tasks_per_project):
            call("POST", "/api/me/tasks", {**bench.task_body(random.Random(u * 7919 + i)), "project_id": project}, owner["token"], 201)
        for k in range(1, members + 1):
            member = (u + k) % len(accounts)
            made = call("POST", f"/api/me/projects/{project}/invitations", {"email": emails[member], "role": "editor"}, owner["token"], 202)
            link = re.search(r"/invitations/([^?]+)\?token=(.+)$", made["accept_url"])
            call("POST", f"/api/me/invitations/{link.group(1)}/accept", {"token": link.group(2)}, accounts[member]["token"], 200)


def fresh_backend(backend, binary: Path, db, work: Path, data: Path, label: str, tasks_per_user: int):
    """Stops `backend`, empties the database, starts `binary` on it, seeds 20 users with
    `tasks_per_user` tasks each through the API, writes wrk's data and analyses (VACUUM ANALYZE);
    returns the new backend and the seed."""
    backend.stop()
    db.recreate_database()
    backend = bench.Backend(binary, db.url, work, {})
    backend.start(label)
    seeded = bench.seed(backend, 20, tasks_per_user)
    bench.write_lua_data(seeded["accounts"], data)
    db.analyze()
    return backend, seeded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", type=Path, default=bench.REPO_DIR / ".build/release/todo")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--wait-for-builds", type=int, default=900,
                        help="before each measurement, wait while a swift build runs (at most this many seconds in all)")
    parser.add_argument("--compare-bin", type=Path, help="the B binary of the ab experiment")
    parser.add_argument("experiments", nargs="*", default=["stats", "trigger", "pool"])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="todo-bench-exp."))
    work.chmod(0o755)
    # Run a copy: other sessions may rebuild .build/release meanwhile.
    source = args.bin.absolute()
    shutil.copy2(source, work / "todo")
    args.bin = work / "todo"
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(source.stat().st_mtime))
    args.bin_label = f"{source} built {built}"
    if args.compare_bin:
        compare = args.compare_bin.absolute()
        shutil.copy2(compare, work / "todo-b")
        args.compare_bin = work / "todo-b"
        args.compare_label = f"{compare} built {time.strftime('%Y-%m-%d %H:%M', time.localtime(compare.stat().st_mtime))}"
    db = bench.Postgres(work)
    backend = None
    out = []
    try:
        db.start()
        backend = bench.Backend(args.bin.absolute(), db.url, work, {})
        backend.start("exp")
        seeded = bench.seed(backend, 20, 200)
        data = work / "data.lua"
        bench.write_lua_data(seeded["accounts"], data)

        if "stats" in args.experiments:
            rows = [measure("no statistics (fresh seed)", "list50", backend, db, data, work, args)]
            db.analyze()
            rows.append(measure("after VACUUM ANALYZE", "list50", backend, db, data, work, args))
            out += ["### Planner statistics and list50", "", table(rows), ""]
        else:
            db.analyze()

        if "trigger" in args.experiments:
            rows = [measure("trigger as shipped (event row)", "create", backend, db, data, work, args)]
            db.sql("ALTER TABLE tasks DISABLE TRIGGER tasks_events_inserted")
            rows.append(measure("no trigger (no event row)", "create", backend, db, data, work, args))
            db.sql("ALTER TABLE tasks ENABLE TRIGGER tasks_events_inserted")
            rows.append(measure("trigger as shipped, again", "create", backend, db, data, work, args))
            out += ["### The event trigger and create (fsync on)", "", table(rows), ""]

        if "ab" in args.experiments:
            if not args.compare_bin:
                raise SystemExit("the ab experiment needs --compare-bin")
            rows = []
            for round_number in (1, 2):
                for label, binary in (("A " + args.bin_label, args.bin), ("B " + args.compare_label, args.compare_bin)):
                    backend, seeded = fresh_backend(backend, binary, db, work, data, f"ab{round_number}", 200)
                    for workload in ("list50", "get_one", "create"):
                        rows.append(measure(f"{label} (round {round_number})", workload, backend, db, data, work, args))
            out += ["### A/B: two binaries, alternating, each on a fresh database", "", table(rows), ""]

        if "shared" in args.experiments:
            rows = []
            for round_number in (1, 2):
                backend, seeded = fresh_backend(backend, args.bin.absolute(), db, work, data, f"shared{round_number}", 200)
                rows.append(measure(f"own projects only (round {round_number})", "list50", backend, db, data, work, args))
                share_projects(backend, seeded["accounts"])
                db.analyze()
                rows.append(measure(f"shared: member of 3 projects of others (round {round_number})", "list50", backend, db, data, work, args))
            out += ["### Sharing and list50: 20 users x 200 own tasks, then each an editor of 3 projects of 50 tasks", "",
                    table(rows), ""]

        if "grown" in args.experiments:
            rows, ratios = [], []
            binaries = [("A " + args.bin_label, args.bin)] + ([("B " + args.compare_label, args.compare_bin)] if args.compare_bin else [])
            for label, binary in binaries:
                # Fewer tasks per project than a page: the plans cached now expect to read them all.
                backend, seeded = fresh_backend(backend, binary, db, work, data, "grown", 40)
                db.sql("ALTER TABLE tasks SET (autovacuum_enabled = false)")
                rows.append(measure(f"{label}: {db.task_count():,} tasks, analysed", "list50", backend, db, data, work, args))
                target = 20 * db.task_count()
                while db.task_count() < target:
                    bench.run_wrk("create", backend, db, data, work, 2, 2, 64)
                grown = measure(f"{label}: {db.task_count():,} tasks, not analysed", "list50", backend, db, data, work, args)
                db.analyze()
                analysed = measure(f"{label}: the same, after VACUUM ANALYZE", "list50", backend, db, data, work, args)
                rows += [grown, analysed]
                ratios.append(f"- {label}: grown and not analysed / analysed = {grown['rps'] / analysed['rps']:.2f}")
            out += ["### A grown table: list50 on 20 users x 40 tasks, then after creates grew `tasks` twentyfold, autovacuum off", "",
                    table(rows), "", *ratios, ""]

        if "webhooks" in args.experiments:
            backend.stop()
            backend = None
            out += ["### The webhook outbox and create (pgbench, fsync on, 16 clients)", "", *webhook_outbox(db, seeded, work, args), ""]

        if "pool" in args.experiments:
            rows = []
            for size in (5, 10, 20, 30):
                backend.stop()
                backend = bench.Backend(args.bin.absolute(), db.url, work, {"DATABASE_POOL_SIZE": str(size)})
                backend.start(f"pool{size}")
                for workload in ("create", "list50"):
                    rows.append(measure(f"DATABASE_POOL_SIZE={size}", workload, backend, db, data, work, args))
            out += ["### Pool size", "", table(rows), ""]
    finally:
        if backend:
            backend.stop()
        db.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"Binary: {source} built {built}; {args.duration} s per measurement, wrk -t2 -c64.\n")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
