#!/usr/bin/env python3
"""The benchmark driver behind bench/run.sh (see bench/RESULTS.md for what it measures).

It starts its own database (a throw-away PostgreSQL with the stock configuration, or a SQLite
file) and the backend (`todo api`) on 127.0.0.1, seeds users and tasks through the API, runs wrk
on each workload, samples CPU time of the backend, the database and wrk, and writes
bench/results/<date>-<mode>.{json,md} and a row per configuration in bench/RESULTS.md. On
PostgreSQL each workload is followed by pgbench with the statements the API sends for it
(bench/pgbench/), for the API's rate as a fraction of the database's alone.

Only the Python standard library is used.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WRK_DIR = BENCH_DIR / "wrk"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
AUTH_SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
PASSWORD = "correct horse battery staple"

TARGETS = {
    # workload: minimum req/s on PostgreSQL (the targets, 2-core machine)
    "list50": 6000,
    "get_one": 9000,
    "create": 5000,
    "mixed": 5000,
}
TARGET_P99_MS = 50.0
TARGET_IDLE_RSS_MIB = 40.0
TARGET_READY_MS = 300.0
WORKLOADS = ["list50", "get_one", "create", "mixed"]
# Workloads that POST tasks: after them, the database must hold every 201 the server sent.
WRITING = {"create", "mixed"}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# /proc sampling


def proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after "(comm)"; comm may contain spaces and parentheses.
    close = text.rfind(")")
    return [text[text.find("(") + 1:close]] + text[close + 2:].split()


def cpu_ticks(pid: int, children: bool = False) -> int:
    """utime+stime (and cutime+cstime of reaped children) of a process, in clock ticks."""
    fields = proc_stat(pid)
    if not fields:
        return 0
    # fields[0] is comm; after it, index 1 is state, so field N of proc(5) is fields[N-2].
    ticks = int(fields[12]) + int(fields[13])
    if children:
        ticks += int(fields[14]) + int(fields[15])
    return ticks


def children_of(ppid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = proc_stat(int(entry))
        if fields and int(fields[2]) == ppid:
            out.append(int(entry))
    return out


def rss_mib(pid: int) -> dict:
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                number = int(rest.split()[0])
                values[key] = number if key == "Threads" else round(number / 1024, 1)
    except OSError:
        pass
    return values


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    total = sum(parts[:8])  # without guest time (already in user)
    return total - idle, total


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def busy_processes(exclude: set[int], seconds: float = 1.0, threshold: float = 0.03) -> tuple[float, list[dict]]:
    """Machine busy fraction (in cores) over `seconds` and the other processes using the CPU."""
    def snapshot() -> dict[int, tuple[int, str]]:
        out = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                fields = proc_stat(int(entry))
                if fields:
                    out[int(entry)] = (int(fields[12]) + int(fields[13]), fields[0])
        return out

    busy0, total0 = machine_ticks()
    before = snapshot()
    time.sleep(seconds)
    after = snapshot()
    busy1, total1 = machine_ticks()
    ncpu = os.cpu_count() or 1
    cores_busy = (busy1 - busy0) / max(1, total1 - total0) * ncpu
    others = []
    for pid, (ticks, comm) in after.items():
        if pid in exclude or pid == os.getpid():
            continue
        used = (ticks - before.get(pid, (ticks, comm))[0]) / CLK_TCK / seconds
        if used >= threshold:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                cmd = comm
            # The program's name only: arguments hold other sessions' paths, not for committed reports.
            others.append({"pid": pid, "comm": comm, "cores": round(used, 2), "cmd": Path(cmd.split(" ", 1)[0]).name})
    others.sort(key=lambda p: -p["cores"])
    return round(cores_busy, 2), others[:6]


def wait_for_builds(args, exclude: set[int] | None = None) -> None:
    """Waits while another session's swift build runs, or other processes keep more than
    --quiet-threshold cores busy, at most --wait-for-builds seconds over the whole run."""
    threshold = getattr(args, "quiet_threshold", 0.5)
    while args.wait_for_builds > 0:
        builds = swift_builds_running()
        started = time.monotonic()
        # The whole machine's busy time: short-lived compiler processes and other containers do not show
        # up in a per-process sample, and ours are idle between workloads.
        busy, others = busy_processes(exclude or set(), seconds=1.0, threshold=0.02)
        if not builds and busy < threshold:
            return
        why = "a swift build is running" if builds else f"the machine is busy ({busy:.2f} cores: " + \
            ", ".join(f"{p['comm']} {p['cores']}" for p in others[:3]) + ")"
        log(f"{why}; waiting (budget {args.wait_for_builds} s, load {loadavg()[0]:.2f})")
        time.sleep(9)
        args.wait_for_builds -= int(time.monotonic() - started)


def swift_builds_running() -> list[str]:
    result = subprocess.run(["pgrep", "-fa", "swift-build"], capture_output=True, text=True)
    # "pid program": the arguments hold other sessions' paths, not for committed reports.
    return [f"{line.split()[0]} {Path(line.split()[1]).name}" for line in result.stdout.splitlines() if len(line.split()) > 1]


# ---------------------------------------------------------------------------------------------
# Databases


class Postgres:
    """A throw-away PostgreSQL cluster (stock configuration) on a free 127.0.0.1 port."""

    kind = "postgres"

    def __init__(self, work: Path):
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: [int(x) for x in re.findall(r"\d+", str(p))])
        if not candidates or not (candidates[-1] / "initdb").exists():
            raise SystemExit("PostgreSQL server binaries not found (apt-get install -y postgresql)")
        self.bin = candidates[-1]
        self.dir = work / "pg"
        self.dir.mkdir()
        self.port = free_port()
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            user = "postgres"
            if subprocess.run(["id", "-u", user], capture_output=True).returncode != 0:
                user = "nobody"
            shutil.chown(self.dir, user)
            self.run_as = ["runuser", "-u", user, "--"]
        self.url = f"postgres://todo@127.0.0.1:{self.port}/bench?sslmode=disable"
        self.started = False

    def start(self) -> None:
        data = self.dir / "data"
        subprocess.run(self.run_as + [str(self.bin / "initdb"), "-D", str(data), "-U", "todo", "--auth=trust",
                                      "-E", "UTF8", "--no-locale"], check=True, stdout=subprocess.DEVNULL)
        # Stock postgresql.conf; only where it listens is given on the command line.
        subprocess.run(self.run_as + [str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "server.log"),
                                      "-w", "-t", "30", "-o", f"-h 127.0.0.1 -p {self.port} -k {self.dir}", "start"],
                       check=True, stdout=subprocess.DEVNULL)
        self.started = True
        subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "todo", "bench"], check=True)

    def postmaster_pid(self) -> int:
        return int((self.dir / "data" / "postmaster.pid").read_text().split()[0])

    def pids(self) -> list[int]:
        master = self.postmaster_pid()
        return [master] + children_of(master)

    def cpu_ticks(self) -> int:
        master = self.postmaster_pid()
        # Live children, plus the postmaster's own time and that of children that already exited.
        return cpu_ticks(master, children=True) + sum(cpu_ticks(pid) for pid in children_of(master))

    def sql(self, statement: str) -> str:
        result = subprocess.run([str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "todo", "-d", "bench",
                                 "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", statement], capture_output=True, text=True, check=True)
        return result.stdout.strip()

    def task_count(self) -> int:
        return int(self.sql("SELECT count(*) FROM tasks"))

    def activity(self) -> dict | None:
        """Cumulative counters of the bench database and the WAL (for per-request figures)."""
        row = self.sql("SELECT d.xact_commit, d.xact_rollback, d.blks_hit, d.blks_read, d.tup_returned, d.tup_fetched, "
                       "d.tup_inserted, w.wal_records, w.wal_bytes, w.wal_write, w.wal_sync "
                       "FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = 'bench'")
        names = ["xact_commit", "xact_rollback", "blks_hit", "blks_read", "tup_returned", "tup_fetched", "tup_inserted",
                 "wal_records", "wal_bytes", "wal_write", "wal_sync"]
        return {n: int(float(v)) for n, v in zip(names, row.split("|"))}

    def analyze(self) -> None:
        self.sql("VACUUM ANALYZE")

    def recreate_database(self) -> None:
        """An empty `bench` database (no connections may be open)."""
        for statement in ("DROP DATABASE bench", "CREATE DATABASE bench"):
            subprocess.run([str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "todo", "-d", "postgres",
                            "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", statement], capture_output=True, text=True, check=True)

    def explain(self, user_id: str, task_id: int) -> dict:
        """Plans of the statements behind list50, get_one and create: the first statement of each
        workload's pgbench script (the statements the API sends, as the statement check proves),
        prepared as pgbench prepares them, so that the parameters take the same types."""
        values = {**PGBENCH_CREATE_VALUES, "user_id": user_id, "task": task_id, "priority": 2, "completed": "false",
                  "version": 1, "occurrence": 0, "task_limit": 100_000}
        plans = {}
        for name in ("list50", "get_one", "create"):
            statement, names = prepared_form(script_texts((PGBENCH_DIR / f"{name}.sql").read_text())[0])
            arguments = ", ".join("'" + str(values[n]).replace("'", "''") + "'" for n in names)
            plans[name] = self.sql(f"BEGIN; PREPARE plan_{name} AS {statement}; "
                                   f"EXPLAIN (ANALYZE, BUFFERS, VERBOSE OFF) EXECUTE plan_{name}({arguments}); ROLLBACK;")
        plans["_sizes"] = self.sql("SELECT relname || ' ' || pg_size_pretty(pg_total_relation_size(oid)) || ' ' || "
                                   "reltuples::bigint || ' rows (estimate)' FROM pg_class WHERE relname IN "
                                   "('tasks', 'events', 'users', 'projects', 'project_members') ORDER BY relname")
        return plans

    def settings(self) -> dict:
        names = ["server_version", "fsync", "synchronous_commit", "wal_sync_method", "full_page_writes", "shared_buffers",
                 "max_connections", "work_mem"]
        rows = self.sql("SELECT name, setting || COALESCE(unit, '') FROM pg_settings WHERE name IN ("
                        + ",".join(f"'{n}'" for n in names) + ") ORDER BY name")
        return dict(line.split("|", 1) for line in rows.splitlines())

    def stop(self) -> None:
        if self.started:
            subprocess.run(self.run_as + [str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.started = False


class SQLiteDB:
    kind = "sqlite"

    def __init__(self, work: Path):
        self.path = work / "bench.db"
        self.url = f"sqlite://{self.path}"

    def start(self) -> None:
        pass

    def pids(self) -> list[int]:
        return []

    def cpu_ticks(self) -> int:
        return 0

    def task_count(self) -> int:
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute("SELECT count(*) FROM tasks").fetchone()[0]
        finally:
            connection.close()

    def activity(self) -> dict | None:
        return None

    def analyze(self) -> None:
        connection = sqlite3.connect(str(self.path), timeout=30)
        try:
            connection.execute("ANALYZE")
            connection.commit()
        finally:
            connection.close()

    def explain(self, user_id: str, task_id: int) -> dict:
        columns = ("id, user_id, title, description, completed, completed_at, priority, tags, due_at, remind_at, recurrence, "
                   "version, created_at, updated_at, series_start, occurrence, next_occurrence_id")
        statements = {
            "list50": f"SELECT {columns} FROM tasks WHERE user_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 51",
            "get_one": f"SELECT {columns} FROM tasks WHERE id = ?2 AND user_id = ?1",
        }
        connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            plans = {}
            for name, sql in statements.items():
                rows = connection.execute("EXPLAIN QUERY PLAN " + sql, (user_id, task_id) if "?2" in sql else (user_id,))
                plans[name] = "\n".join(str(r[-1]) for r in rows)
            return plans
        finally:
            connection.close()

    def settings(self) -> dict:
        return {"sqlite_version (python module)": sqlite3.sqlite_version, "journal_mode": "wal (set by the backend)",
                "synchronous": "FULL (set by the backend)"}

    def stop(self) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# The backend


class Backend:
    def __init__(self, binary: Path, db_url: str, work: Path, extra_env: dict[str, str]):
        self.binary = binary
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "DATABASE_URL": db_url,
            "AUTH_SECRET": AUTH_SECRET,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
        }
        self.env.update(extra_env)
        self.work = work
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def start(self, label: str, timeout: float = 60.0) -> float:
        """Starts `todo api` and returns the milliseconds from exec to the first 200 on /readyz."""
        self.log_path = self.work / f"backend-{label}.log"
        log_file = open(self.log_path, "wb")
        start = time.monotonic()
        self.proc = subprocess.Popen([str(self.binary), "api"], env=self.env, stdout=log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log_file.close()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the backend exited with {self.proc.returncode}; see {self.log_path}:\n"
                                   + self.log_path.read_text()[-2000:])
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                connection.request("GET", "/readyz")
                status = connection.getresponse().status
                connection.close()
                if status == 200:
                    return (time.monotonic() - start) * 1000
            except OSError:
                pass
            if time.monotonic() - start > timeout:
                raise RuntimeError(f"the backend was not ready within {timeout} s; see {self.log_path}")
            time.sleep(0.002)

    @property
    def pid(self) -> int:
        assert self.proc
        return self.proc.pid

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def request(self, method: str, path: str, body=None, token: str | None = None, connection=None):
        own = connection is None
        connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        data = response.read()
        if own:
            connection.close()
        return response.status, data

    def settled_metrics(self, limit: float = 10.0) -> dict[tuple[str, str, str], int]:
        """The counters once two reads 200 ms apart agree on every route but /metrics."""
        deadline = time.monotonic() + limit
        previous = None
        while True:
            current = {k: v for k, v in self.metrics().items() if k[0] != "/metrics"}
            if current == previous or time.monotonic() > deadline:
                return current
            previous = current
            time.sleep(0.2)

    def metrics(self) -> dict[tuple[str, str, str], int]:
        """http_server_requests_total counters by (route, method, status)."""
        status, data = self.request("GET", "/metrics")
        counts: dict[tuple[str, str, str], int] = {}
        for line in data.decode().splitlines():
            match = re.match(r'http_server_requests_total\{(.*)\} (\d+)', line)
            if match:
                labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
                key = (labels.get("http_route", ""), labels.get("http_request_method", ""),
                       labels.get("http_response_status_code", ""))
                counts[key] = int(match.group(2))
        return counts


# ---------------------------------------------------------------------------------------------
# Seeding through the API

WORDS = ("review quarterly report call plumber buy groceries renew passport draft proposal book flights fix bike "
         "brakes water plants prepare slides pay invoice schedule dentist clean garage update resume backup laptop "
         "email landlord order printer ink return library books plan birthday party cancel gym membership").split()
TAGS = ["home", "work", "errands", "finance", "health", "travel", "family", "urgent", "someday", "reading"]
PRIORITIES = ["high", "medium", "low", "none"]


def task_body(rng: random.Random) -> dict:
    body = {
        "title": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))).capitalize(),
        "priority": rng.choice(PRIORITIES),
        "tags": rng.sample(TAGS, rng.choice([0, 1, 1, 2, 2, 3])),
    }
    if rng.random() < 0.4:
        body["description"] = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 16))).capitalize() + "."
    if rng.random() < 0.4:
        due = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=rng.randint(-60 * 24 * 60, 60 * 24 * 60))
        body["due_at"] = due.strftime("%Y-%m-%dT%H:%M:00Z")
    if rng.random() < 0.15:
        body["completed"] = True
    return body


def seed(backend: Backend, users: int, tasks_per_user: int) -> dict:
    """Signs up `users` accounts and creates their tasks through the API; returns tokens and ids."""
    stamp = f"{int(time.time())}-{os.getpid()}"
    started = time.monotonic()

    def sign_up(i: int) -> dict:
        status, data = backend.request("POST", "/api/auth/signup",
                                       {"email": f"bench{i}-{stamp}@example.com", "password": PASSWORD, "name": f"Bench {i}"})
        if status != 201:
            raise RuntimeError(f"signup answered {status}: {data[:300]!r}")
        reply = json.loads(data)
        return {"id": reply["user"]["id"], "token": reply["token"], "tasks": []}

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(users, 4)) as pool:
        accounts = list(pool.map(sign_up, range(users)))
    signup_seconds = time.monotonic() - started

    # One client, round-robin over the users: nothing else inserts meanwhile, so user u's i-th
    # task gets the id first + i * users + u (checked below). The tasks of a user are spread over
    # the table as they would be with many users at once, and pgbench's get_one draws a random
    # own task from that pattern (bench/pgbench/get_one.sql: pgbench cannot pick from a list).
    connection = http.client.HTTPConnection("127.0.0.1", backend.port, timeout=60)
    task_started = time.monotonic()
    for i in range(tasks_per_user):
        for u in range(users):
            rng = random.Random(u * 100_003 + i)
            status, data = backend.request("POST", "/api/me/tasks", task_body(rng), accounts[u]["token"], connection)
            if status != 201:
                raise RuntimeError(f"create answered {status}: {data[:300]!r}")
            accounts[u]["tasks"].append(int(json.loads(data)["id"]))
    connection.close()
    first = accounts[0]["tasks"][0]
    round_robin = all(task == first + i * users + u for u, account in enumerate(accounts)
                      for i, task in enumerate(account["tasks"]))
    task_seconds = time.monotonic() - task_started
    # The size of one list50 answer, for the record.
    status, data = backend.request("GET", "/api/me/tasks?limit=50", token=accounts[0]["token"])
    return {
        "accounts": accounts,
        "signup_seconds": round(signup_seconds, 2),
        "tasks_seconds": round(task_seconds, 2),
        "tasks_per_second": round(users * tasks_per_user / max(task_seconds, 1e-9)),
        "round_robin_ids": round_robin,
        "list50_bytes": len(data),
        "list50_items": len(json.loads(data)["items"]) if status == 200 else None,
    }


def write_lua_data(accounts: list[dict], path: Path) -> None:
    lines = ["return { users = {"]
    for account in accounts:
        ids = ",".join(str(i) for i in sorted(account["tasks"]))
        lines.append(f'  {{ token = "{account["token"]}", tasks = {{ {ids} }} }},')
    lines.append("} }")
    path.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------
# Running a workload


def run_wrk(workload: str, backend: Backend, db, data_path: Path, work: Path, duration: int, threads: int,
            connections: int, perf_data: Path | None = None) -> dict:
    out_json = work / f"wrk-{workload}-{time.monotonic_ns()}.json"
    env = dict(os.environ, BENCH_DATA=str(data_path), BENCH_WRK_JSON=str(out_json))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
               "-s", str(WRK_DIR / f"{workload}.lua"), backend.url]
    backend_before = cpu_ticks(backend.pid)
    db_before = db.cpu_ticks()
    busy_before, total_before = machine_ticks()
    self_before = os.times()
    started = time.monotonic()
    perf = None
    if perf_data:
        # System-wide, software clock (no hardware counters in VMs), call graphs from frame pointers.
        perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "499", "-a", "-g", "-o", str(perf_data),
                                 "--", "sleep", str(max(1, duration - 1))], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    if perf:
        perf.wait()
    elapsed = time.monotonic() - started
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    busy_after, total_after = machine_ticks()
    backend_after = cpu_ticks(backend.pid)
    db_after = db.cpu_ticks()
    self_after = os.times()
    if proc.returncode != 0 or not out_json.exists():
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{output}")
    result = json.loads(out_json.read_text())
    ncpu = os.cpu_count() or 1
    machine_busy = (busy_after - busy_before) / max(1, total_after - total_before) * ncpu  # in cores
    backend_cores = (backend_after - backend_before) / CLK_TCK / elapsed
    db_cores = (db_after - db_before) / CLK_TCK / elapsed
    wrk_cores = (usage.ru_utime + usage.ru_stime) / elapsed
    harness = max(0.0, (self_after.user + self_after.system - self_before.user - self_before.system) / elapsed)
    errors = result["errors"]
    lat = result["latency_us"]
    seconds = result["duration_us"] / 1e6
    per_request = 1000 / CLK_TCK / max(1, result["requests"])  # clock ticks -> ms per request
    return {
        # Paths relative to the repository: no machine paths in the committed reports.
        "command": " ".join(command).replace(f"{REPO_DIR}/", ""),
        "requests": result["requests"],
        "rps": round(result["requests"] / seconds, 1),
        "mb_per_s": round(result["bytes"] / seconds / 1e6, 2),
        "latency_ms": {k: (round(v / 1000, 3) if v is not None else None) for k, v in lat.items()},
        "non_2xx": errors["status"],
        "socket_errors": {k: errors[k] for k in ("connect", "read", "write", "timeout")},
        "socket_errors_total": sum(errors[k] for k in ("connect", "read", "write", "timeout")),
        "cpu_cores": {
            "backend": round(backend_cores, 2),
            "database": round(db_cores, 2) if db.kind == "postgres" else None,
            "wrk": round(wrk_cores, 2),
            "harness": round(harness, 2),
            "other": round(max(0.0, machine_busy - backend_cores - db_cores - wrk_cores - harness), 2),
            "machine_busy": round(machine_busy, 2),
            "machine_capacity": ncpu,
        },
        # CPU time per request in ms (utime+stime over the workload / requests wrk completed).
        "cpu_ms_per_request": {
            "backend": round((backend_after - backend_before) * per_request, 4),
            "database": round((db_after - db_before) * per_request, 4) if db.kind == "postgres" else None,
            "wrk": round((usage.ru_utime + usage.ru_stime) * 1000 / max(1, result["requests"]), 4),
        },
        "wrk_output": output,
    }


# ---------------------------------------------------------------------------------------------
# PostgreSQL alone: pgbench with the API's statements (bench/pgbench/*.sql)
#
# Absolute req/s move with the machine; the API's rate as a fraction of what the same database,
# on the same data and in the same run, does with the same statements and no API in between
# does not (much). pgbench runs them prepared (-M prepared, as the API's hot paths are), with 2
# threads, at each of --pgbench-clients.

PGBENCH_DIR = BENCH_DIR / "pgbench"
# The variables of a script that differ per user: bench.py runs one copy of a script per user.
PER_USER_VARIABLES = ("user_id", "first_task")
# What pgbench's create binds for the values wrk's bodies vary (bench/pgbench/create.sql).
PGBENCH_CREATE_VALUES = {
    "title": "Review quarterly report",
    "description": "Draft proposal, then book flights.",
    "tags": "{home,work}",
    "due_at": "2026-12-24T09:30:00Z",
    "now": "now",
}
# pgbench takes at most 128 scripts (-f) per run.
PGBENCH_MAX_SCRIPTS = 128


def pgbench_arguments(workload: str, accounts: list[dict], tasks_per_user: int, directory: Path) -> list[str]:
    """The -D and -f arguments for `workload`: one copy of its script per user, each copy with
    that user's variables renamed (`:user_id` -> `:user_id_3`), all of equal weight, so that
    pgbench draws a random user for every transaction as wrk does for every request."""
    if len(accounts) > PGBENCH_MAX_SCRIPTS:
        raise SystemExit(f"pgbench takes at most {PGBENCH_MAX_SCRIPTS} scripts: seed at most that many users")
    template = (PGBENCH_DIR / f"{workload}.sql").read_text()
    directory.mkdir(exist_ok=True)
    arguments = ["-D", f"users={len(accounts)}", "-D", f"tasks_per_user={tasks_per_user}"]
    arguments += [a for name, value in PGBENCH_CREATE_VALUES.items() for a in ("-D", f"{name}={value}")]
    pattern = re.compile(r"(?<!:):(" + "|".join(PER_USER_VARIABLES) + r")\b")
    for n, account in enumerate(accounts):
        script = directory / f"{workload}-{n}.sql"
        script.write_text(pattern.sub(lambda m: f":{m.group(1)}_{n}", template))
        arguments += ["-D", f"user_id_{n}={account['id']}", "-D", f"first_task_{n}={account['tasks'][0]}",
                      "-f", f"{script}@1"]
    return arguments


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def run_pgbench(workload: str, db, backend: Backend, accounts: list[dict], tasks_per_user: int, work: Path,
                clients: int, threads: int, duration: int) -> dict:
    """pgbench with `workload`'s script for `duration` seconds at `clients` connections, with the
    CPU time of the database's processes and of pgbench over the run. Raises when pgbench fails
    or a transaction failed."""
    directory = work / "pgbench"
    log_prefix = directory / f"log-{workload}-{clients}-{time.monotonic_ns()}"
    command = [str(db.bin / "pgbench"), "-h", "127.0.0.1", "-p", str(db.port), "-U", "todo", "-n", "-M", "prepared",
               "-j", str(threads), "-c", str(clients), "-T", str(duration), "-l", f"--log-prefix={log_prefix}",
               *pgbench_arguments(workload, accounts, tasks_per_user, directory), "bench"]
    master = db.postmaster_pid()
    processes_before = len(children_of(master))
    db_before = db.cpu_ticks()
    backend_before = cpu_ticks(backend.pid)
    busy_before, total_before = machine_ticks()
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - started
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    # pgbench's server processes exit after it: wait for them, so that their CPU time is in the
    # postmaster's total of reaped children rather than lost between two readings.
    deadline = time.monotonic() + 5
    while len(children_of(master)) > processes_before and time.monotonic() < deadline:
        time.sleep(0.02)
    db_after = db.cpu_ticks()
    backend_after = cpu_ticks(backend.pid)
    busy_after, total_after = machine_ticks()
    exit_code = os.waitstatus_to_exitcode(status)

    def number(pattern: str) -> float | None:
        match = re.search(pattern, output, re.MULTILINE)
        return float(match.group(1)) if match else None

    processed = number(r"^number of transactions actually processed: (\d+)")
    failed = number(r"^number of failed transactions: (\d+)") or 0
    tps = number(r"^tps = ([\d.]+) \(without initial connection time\)")
    if exit_code != 0 or not processed or tps is None or failed:
        raise RuntimeError(f"pgbench {workload} -c{clients} failed (exit {exit_code}, {failed:.0f} failed "
                           f"transactions):\n{' '.join(command)}\n{output}")
    # Per-transaction log lines: client, transaction, latency (µs), script, epoch s, µs.
    latencies = []
    for path in directory.glob(log_prefix.name + ".*"):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3:
                latencies.append(int(fields[2]) / 1000)
        path.unlink()
    latencies.sort()
    transactions = int(processed)
    per_transaction = 1000 / CLK_TCK / transactions  # clock ticks -> ms per transaction
    ncpu = os.cpu_count() or 1
    # No machine paths in the committed reports: the temporary directory is <tmp>.
    shown = ["pgbench"] + command[1:command.index("-D")] + ["-D", "...", "-f", f"{workload}-<user>.sql@1", "...", "bench"]
    return {
        "command": " ".join(shown).replace(str(work), "<tmp>"),
        "clients": clients,
        "transactions": transactions,
        "tps": round(tps, 1),
        "latency_ms": {"p50": round(percentile(latencies, 0.50), 3), "p99": round(percentile(latencies, 0.99), 3),
                       "max": round(latencies[-1], 3), "average": number(r"^latency average = ([\d.]+) ms")},
        "cpu_ms_per_transaction": {
            "database": round((db_after - db_before) * per_transaction, 4),
            "pgbench": round((usage.ru_utime + usage.ru_stime) * 1000 / transactions, 4),
            # The API, idle meanwhile (its pooled connections stay open): should be ~0.
            "backend_idle": round((backend_after - backend_before) * per_transaction, 4),
        },
        "cpu_cores": {
            "database": round((db_after - db_before) / CLK_TCK / elapsed, 2),
            "pgbench": round((usage.ru_utime + usage.ru_stime) / elapsed, 2),
            "machine_busy": round((busy_after - busy_before) / max(1, total_after - total_before) * ncpu, 2),
        },
        "output": output.replace(str(work), "<tmp>"),
    }


def pgbench_limit(workload_result: dict) -> dict | None:
    """The API's rate as a fraction of pgbench's best rate (over the client counts) for the
    same workload, and the CPU per request of each."""
    runs = workload_result.get("pgbench")
    if not runs:
        return None
    best = max(runs, key=lambda r: r["tps"])
    return {
        "ratio": round(workload_result["rps"] / best["tps"], 4),
        "by_clients": {str(r["clients"]): round(workload_result["rps"] / r["tps"], 4) for r in runs},
        "pgbench_tps": best["tps"],
        "pgbench_clients": best["clients"],
        "pgbench_p99_ms": best["latency_ms"]["p99"],
        "api_cpu_ms": workload_result["cpu_ms_per_request"],
        "pgbench_cpu_ms": best["cpu_ms_per_transaction"],
    }


# ---------------------------------------------------------------------------------------------
# Do the pgbench scripts send what the API sends? (PostgreSQL's log of a few requests)

# Statements the API sends now and then, not per request, with the reason. `per_request_ok`:
# whether it may appear once per request in the check (NOTIFY is bounded by time, not by
# requests: sequential creates slower than 20 ms each would send one each).
AMORTISED_STATEMENTS = [
    (r"^SELECT s\.id, s\.user_id, .* FROM sessions s JOIN users u",
     "the access token's session: looked up at most once per session and second (LiveSessions)", False),
    (r"^UPDATE sessions SET last_used_at",
     "the session's last use: written at most once a minute (LoginSession.lastUseResolution)", False),
    (r"^NOTIFY todo_events$", "at most once per 20 ms while tasks change (ChangeAnnouncer)", True),
]
STATEMENT_CHECK_REQUESTS = 10


def normalise_statement(sql: str) -> str:
    """A statement's text with whitespace collapsed and every parameter, NULL literal included
    (pgbench cannot bind NULL), written `?`: the API's `$1` and pgbench's `:user_id` alike."""
    sql = re.sub(r"\s+", " ", sql).strip().rstrip(";").strip()
    sql = re.sub(r"\( ", "(", re.sub(r" \)", ")", sql))
    return re.sub(r"\$\d+|(?<!:):(?!:)[A-Za-z_]\w*|\bNULL\b", "?", sql)


def script_texts(text: str) -> list[str]:
    """The SQL statements of a pgbench script as written, in order (meta-commands and comment lines left out)."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(("--", "\\"))]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def script_statements(text: str) -> list[str]:
    """The SQL statements of a pgbench script, normalised (`normalise_statement`)."""
    return [normalise_statement(s) for s in script_texts(text)]


def prepared_form(statement: str) -> tuple[str, list[str]]:
    """A pgbench statement with its variables as `$1`, `$2`, ...; and the variables' names in that order."""
    names: list[str] = []

    def parameter(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"
    return re.sub(r"(?<!:):(?!:)([A-Za-z_]\w*)", parameter, statement), names


def logged_statements(log_text: str) -> list[str]:
    """The statements in a slice of PostgreSQL's stderr log with log_statement = all (extended
    protocol: `execute <name>: ...`; simple: `statement: ...`), continuation lines included."""
    statements: list[str] = []
    current: list[str] | None = None
    for line in log_text.splitlines():
        if line.startswith("\t") and current is not None:
            current.append(line[1:])
            continue
        if current is not None:
            statements.append(normalise_statement("\n".join(current)))
            current = None
        match = re.match(r"^\S+ \S+ \S+ \[\d+\] LOG:  (?:execute [^:]+|statement): (.*)$", line)
        if match:
            current = [match.group(1)]
    if current is not None:
        statements.append(normalise_statement("\n".join(current)))
    return statements


def check_statements(db, backend: Backend, accounts: list[dict]) -> dict:
    """Sends STATEMENT_CHECK_REQUESTS requests of each kind, one after the other, with
    log_statement = all on the throw-away server, and compares what the API sent per request
    with the statements of bench/pgbench/<workload>.sql."""
    account = accounts[0]
    connection = http.client.HTTPConnection("127.0.0.1", backend.port, timeout=60)
    requests = {
        "list50": lambda i: ("GET", "/api/me/tasks?limit=50", None),
        "get_one": lambda i: ("GET", f"/api/me/tasks/{account['tasks'][i % len(account['tasks'])]}", None),
        "create": lambda i: ("POST", "/api/me/tasks", task_body(random.Random(i))),
    }
    for make in requests.values():  # warm: the session is looked up and cached before the log starts
        backend.request(*make(0), token=account["token"], connection=connection)
    log_path = db.dir / "server.log"
    db.sql("ALTER SYSTEM SET log_statement = 'all'")
    db.sql("SELECT pg_reload_conf()")
    time.sleep(0.5)  # every server process reads the new setting before its next statement
    found: dict[str, dict] = {}
    try:
        for workload, make in requests.items():
            offset = log_path.stat().st_size
            for i in range(STATEMENT_CHECK_REQUESTS):
                status, data = backend.request(*make(i), token=account["token"], connection=connection)
                if status not in (200, 201):
                    raise RuntimeError(f"statement check: {workload} answered {status}: {data[:300]!r}")
            with open(log_path, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
            counts: dict[str, int] = {}
            for statement in logged_statements(text):
                counts[statement] = counts.get(statement, 0) + 1
            found[workload] = counts
    finally:
        db.sql("ALTER SYSTEM RESET log_statement")
        db.sql("SELECT pg_reload_conf()")
        connection.close()

    report: dict = {"requests": STATEMENT_CHECK_REQUESTS, "workloads": {}}
    n = STATEMENT_CHECK_REQUESTS
    for workload, counts in found.items():
        per_request, amortised, problems = {}, {}, []
        for statement, count in counts.items():
            rule = next((r for r in AMORTISED_STATEMENTS if re.search(r[0], statement)), None)
            if rule:
                amortised[statement] = {"count": count, "why": rule[1]}
                if count >= n and not rule[2]:
                    problems.append(f"sent once per request, expected less often: {statement}")
            elif count >= n:
                per_request[statement] = count / n
            elif count * 2 >= n:
                problems.append(f"sent {count} times in {n} requests (some requests only?): {statement}")
            else:
                # The server's own timers (event poll, reminders, pruning) land in the window now and then.
                amortised[statement] = {"count": count, "why": "not per request: a background task's, or occasional"}
        expected: dict[str, float] = {}
        for statement in script_statements((PGBENCH_DIR / f"{workload}.sql").read_text()):
            expected[statement] = expected.get(statement, 0) + 1
        for statement in sorted(set(per_request) | set(expected)):
            sent, scripted = per_request.get(statement, 0), expected.get(statement, 0)
            if sent != scripted:
                problems.append(f"the API sends {sent:g} per request, the script {scripted:g}: {statement}")
        report["workloads"][workload] = {"per_request": per_request, "amortised": amortised, "problems": problems}
    # mixed.sql: its branches are the three scripts' statements.
    union = {s for w in requests for s in script_statements((PGBENCH_DIR / f"{w}.sql").read_text())}
    mixed = set(script_statements((PGBENCH_DIR / "mixed.sql").read_text()))
    report["workloads"]["mixed"] = {"problems": [f"mixed.sql differs from the other scripts: {s}" for s in sorted(union ^ mixed)]}
    report["ok"] = not any(w["problems"] for w in report["workloads"].values())
    return report


# Inclusive shares of the backend's CPU samples whose call stack contains a frame matching the pattern.
SHARE_PATTERNS = [
    ("JSON encoding of the response (Foundation JSONEncoder)", r"^JSONEncoder\.encode<A>\(_:\)"),
    ("  of which TodoTask.encode(to:)", r"^TodoTask\.encode\(to:\)"),
    ("  of which JSONWriter (bytes out, sortedKeys)", r"^JSONWriter\.serializeJSON"),
    ("JSON decoding of the request (JSONBody, JSONDecoder)", r"^JSONBody\.|^JSONDecoder\.decode"),
    ("PostgresRow decoding (17 columns per task)", r"PostgresRow\.decode"),
    ("SQLite statement and row work (SQLiteNIO)", r"SQLiteConnection|SQLiteStatement|sqlite3_"),
    ("PostgresNIO channel handler (protocol, messages)", r"^PostgresChannelHandler\."),
    ("JWT verification (jwt-kit: decode the claims, HS256)", r"JWTKeyCollection|JWTSigner|JWTParser|HMAC"),
    ("request id + access log line (RequestLogMiddleware, JSONLogHandler)", r"RequestLogMiddleware|JSONLogHandler"),
    ("metrics middleware", r"MetricsMiddleware"),
    ("socket reads (HTTP + database)", r"readFromSocket"),
    ("socket writes (HTTP + database)", r"writeToSocket"),
    ("epoll wait / wake-ups", r"_blockingWaitForWork|epoll_wait"),
    ("swift_retain / swift_release (self)", None),
    ("generic metadata lookups (swift_getGenericMetadata)", r"swift_getGenericMetadata"),
    ("dynamic casts (swift_dynamicCast / tryCast)", r"swift_dynamicCast|^tryCast"),
]


# The same for the PostgreSQL server processes (Debian's build: exported symbols only, so these are lower bounds).
POSTGRES_SHARE_PATTERNS = [
    ("parse + analyze (pg_parse_query, pg_analyze_and_rewrite_*)", r"^pg_parse_query$|^pg_analyze_and_rewrite"),
    ("plan (pg_plan_queries / GetCachedPlan: unnamed statements are planned every time)", r"^pg_plan_queries$|^GetCachedPlan$"),
    ("execute (PortalRun)", r"^PortalRun$"),
    ("  of which sending rows (printtup / SendFunctionCall)", r"^printtup$|^SendFunctionCall$"),
    ("  of which the event trigger (plpgsql)", r"plpgsql_exec_trigger|^ExecCallTriggerFunc$"),
    ("commit (CommitTransactionCommand)", r"^CommitTransactionCommand$"),
    ("  of which WAL flush (XLogFlush)", r"^XLogFlush$"),
    ("  of which NOTIFY (PreCommit_Notify / AtCommit_Notify)", r"^PreCommit_Notify$|^AtCommit_Notify$|^asyncQueue"),
    ("network read (pq_getbyte / secure_read)", r"^secure_read$|^pq_getbyte$|^pq_getmessage$"),
    ("network write (pq_flush / secure_write)", r"^secure_write$|^internal_flush$|^socket_flush$"),
    ("malloc/free (libc)", r"^_int_malloc$|^_int_free$|^malloc$|^cfree"),
]


def backend_shares(perf_data: Path, backend_pid: int, filter_args: list[str] | None = None,
                   patterns: list | None = None) -> list[tuple[str, float]]:
    filter_args = filter_args or ["--pid", str(backend_pid)]
    patterns = patterns or SHARE_PATTERNS
    result = subprocess.run(["perf", "script", "-i", str(perf_data), *filter_args, "-F", "pid,ip,sym"],
                            capture_output=True, text=True)
    text = result.stdout
    demangler = shutil.which("swift-demangle")
    if demangler:
        text = subprocess.run([demangler, "--simplified"], input=text, capture_output=True, text=True).stdout
    stacks: list[list[str]] = []
    for block in text.split("\n\n"):
        frames = [line.strip().split(" ", 1)[-1] for line in block.splitlines()[1:] if line.strip()]
        if frames:
            stacks.append(frames)
    if not stacks:
        return []
    shares = []
    for label, pattern in patterns:
        if pattern is None:
            hits = sum(1 for frames in stacks if frames[0] in ("swift_retain", "swift_release"))
        else:
            regex = re.compile(pattern)
            hits = sum(1 for frames in stacks if any(regex.search(f) for f in frames))
        shares.append((label, round(hits / len(stacks) * 100, 1)))
    shares.append(("(samples)", len(stacks)))
    return shares


def perf_report(perf_data: Path, backend_pid: int, top: int = 45) -> dict:
    """Where the CPU went: by process, and the hottest functions of the backend and of PostgreSQL
    (self time, and inclusive time of the backend), demangled."""
    def report(*extra: str) -> str:
        result = subprocess.run(["perf", "report", "-i", str(perf_data), "--stdio", "--percent-limit", "0.4",
                                 "--no-header", *extra], capture_output=True, text=True)
        text = result.stdout
        demangler = shutil.which("swift-demangle")
        if demangler:
            text = subprocess.run([demangler, "--simplified"], input=text, capture_output=True, text=True).stdout
        lines = [l.rstrip() for l in text.splitlines() if l.strip() and not l.startswith("#")]
        return "\n".join(lines[:top])

    return {
        "backend_shares": backend_shares(perf_data, backend_pid),
        "postgres_shares": backend_shares(perf_data, 0, ["--comms", "postgres"], POSTGRES_SHARE_PATTERNS),
        "by_process": report("--no-children", "--sort", "comm,dso", "-g", "none"),
        # The backend's threads are named after their executor (NIO-SGLTN-*, ...default-qos), so filter by pid.
        "backend_self": report("--no-children", "--pid", str(backend_pid), "--percentage", "relative",
                               "--sort", "dso,sym", "-g", "none"),
        "backend_children": report("--children", "--pid", str(backend_pid), "--percentage", "relative",
                                   "--sort", "sym", "-g", "none"),
        "postgres_self": report("--no-children", "--comm", "postgres", "--percentage", "relative",
                                "--sort", "dso,sym", "-g", "none"),
    }


def run_configuration(label: str, args, binary: Path, db, work: Path, data_path: Path, extra_env: dict,
                      accounts: list[dict], check_statements_first: bool = False) -> dict:
    """Restarts the backend (schema current) with `extra_env` and runs every workload once, each
    followed by pgbench with the same statements (PostgreSQL, unless --no-pgbench)."""
    backend = Backend(binary, db.url, work, extra_env)
    config: dict = {"label": label, "env": extra_env, "workloads": {}}
    try:
        config["ready_ms"] = round(backend.start(label), 1)
        time.sleep(args.settle)
        config["idle_rss"] = rss_mib(backend.pid)
        log(f"[{label}] ready in {config['ready_ms']} ms, idle RSS {config['idle_rss'].get('VmRSS')} MiB")
        if check_statements_first:
            config["statement_check"] = check_statements(db, backend, accounts)
            for workload, found in config["statement_check"]["workloads"].items():
                for problem in found["problems"]:
                    log(f"[{label}] statement check, {workload}: {problem}")
            log(f"[{label}] statement check: the pgbench scripts "
                + ("send what the API sends" if config["statement_check"]["ok"] else "do NOT send what the API sends"))
        if args.warmup > 0:
            run_wrk("list50", backend, db, data_path, work, args.warmup, args.threads, min(args.connections, 16))
        for workload in args.workloads:
            ours = {backend.pid, *db.pids()}
            wait_for_builds(args, ours)
            load = loadavg()
            busy, others = busy_processes(ours, seconds=args.sample)
            builds = swift_builds_running()
            before_count = db.task_count() if workload in WRITING else None
            metrics_before = backend.metrics()
            log(f"[{label}] {workload}: load {load[0]:.2f}, machine busy {busy:.2f} cores before the test")
            perf_data = work / f"{label}-{workload}.perf.data" if args.profile else None
            stats_before = None
            if args.profile and db.kind == "postgres":
                time.sleep(11)  # PostgreSQL 15 backends publish their counters after being idle a while
                stats_before = db.activity()
            result = run_wrk(workload, backend, db, data_path, work, args.duration, args.threads, args.connections, perf_data)
            # Requests wrk gave up on at the end may still be finishing: wait until the counters settle.
            metrics_after = backend.settled_metrics()
            created = sum(v - metrics_before.get(k, 0) for k, v in metrics_after.items()
                          if k[1] == "POST" and k[0] == "/api/{user_id}/tasks" and k[2] == "201")
            by_status: dict[str, int] = {}
            for key, value in metrics_after.items():
                delta = value - metrics_before.get(key, 0)
                if delta and key[0].startswith("/api/"):
                    by_status[f"{key[1]} {key[0]} {key[2]}"] = delta
            result["server_counts"] = by_status
            if before_count is not None:
                # Every 201 must be a stored row. A request cut off when wrk stops may commit without its
                # 201 being counted (the client is gone), so up to one extra row per connection is fine.
                stored = db.task_count() - before_count
                result["durability"] = {"server_201": created, "new_rows": stored,
                                        "ok": created <= stored <= created + args.connections}
            result["machine_before"] = {"loadavg": load, "busy_cores_1s": busy, "other_processes": others,
                                        "swift_builds": builds}
            if args.profile:
                served = sum(v for k, v in by_status.items())
                result["profile"] = {"perf": perf_report(perf_data, backend.pid) if perf_data and perf_data.exists() else None}
                if stats_before is not None:
                    time.sleep(11)
                    after = db.activity()
                    delta = {k: after[k] - stats_before[k] for k in after}
                    delta["per_request"] = {k: round(v / max(1, served), 3) for k, v in delta.items()}
                    result["profile"]["database"] = delta
            config["workloads"][workload] = result
            lat = result["latency_ms"]
            log(f"[{label}] {workload}: {result['rps']:.0f} req/s, p50 {lat['p50']} ms, p99 {lat['p99']} ms, "
                f"max {lat['max']} ms, non-2xx {result['non_2xx']}, socket errors {result['socket_errors_total']}, "
                f"cpu {result['cpu_cores']}, cpu ms/request {result['cpu_ms_per_request']}")
            if args.pgbench:
                # Same database, same data (the creates before it included), right after the API's run.
                result["pgbench"] = []
                for clients in args.pgbench_clients:
                    run = run_pgbench(workload, db, backend, accounts, args.tasks_per_user, work, clients, args.threads,
                                      args.pgbench_duration)
                    result["pgbench"].append(run)
                    log(f"[{label}] {workload}: pgbench -c{clients}: {run['tps']:.0f} tps, p99 {run['latency_ms']['p99']} ms, "
                        f"cpu ms/transaction {run['cpu_ms_per_transaction']}")
                limit = result["limit"] = pgbench_limit(result)
                log(f"[{label}] {workload}: the API ran at {limit['ratio'] * 100:.1f} % of PostgreSQL alone "
                    f"({result['rps']:.0f} req/s / {limit['pgbench_tps']:.0f} tps at -c{limit['pgbench_clients']}); "
                    f"database CPU per request {limit['api_cpu_ms']['database']} ms through the API, "
                    f"{limit['pgbench_cpu_ms']['database']} ms from pgbench; backend {limit['api_cpu_ms']['backend']} ms")
        config["rss_after"] = rss_mib(backend.pid)
    finally:
        backend.stop()
    return config


# ---------------------------------------------------------------------------------------------
# Reporting


def git(*args: str) -> str:
    result = subprocess.run(["git", "-C", str(REPO_DIR), *args], capture_output=True, text=True)
    return result.stdout.strip()


def machine_info(binary: Path) -> dict:
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    mem_total = next((int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")), 0)
    stat = binary.stat()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
    return {
        "kernel": platform.release(),
        "cpu": cpu_model,
        "nproc": os.cpu_count(),
        "mem_gib": round(mem_total / 1024 / 1024, 1),
        "loadavg_at_start": loadavg(),
        "commit": git("rev-parse", "--short", "HEAD"),
        # The newest commit older than the binary: what it was built from (plus the uncommitted changes of then).
        "binary_commit": git("log", "-1", "--format=%h", f"--before={int(stat.st_mtime)}") or "?",
        "dirty_files": len([l for l in git("status", "--porcelain").splitlines() if l.strip()]),
        # Relative to the repository when inside it: no machine paths in the committed reports.
        "binary": str(binary.relative_to(REPO_DIR)) if binary.is_relative_to(REPO_DIR) else binary.name,
        "binary_mtime": dt.datetime.fromtimestamp(stat.st_mtime).strftime("%Y-%m-%d %H:%M"),
        "binary_size_mib": round(stat.st_size / 2**20, 1),
        "wrk": wrk_version[0] if wrk_version else "",
        "python": platform.python_version(),
    }


def fmt(value, digits=0) -> str:
    if value is None:
        return "–"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("✅" if ok else "❌")


def check_targets(report: dict) -> list[dict]:
    checks = []
    postgres = report["mode"] == "postgres"
    for config in report["configurations"]:
        if "statement_check" in config:
            problems = [p for w in config["statement_check"]["workloads"].values() for p in w["problems"]]
            checks.append({"what": "the pgbench scripts send the API's statements (bench/pgbench/*.sql)",
                           "value": f"{len(problems)} differences", "ok": not problems})
        for name, w in config["workloads"].items():
            if postgres and not report["smoke"]:
                checks.append({"what": f"{config['label']} {name} req/s ≥ {TARGETS[name]:,}", "value": w["rps"],
                               "ok": w["rps"] >= TARGETS[name]})
            if not report["smoke"]:
                checks.append({"what": f"{config['label']} {name} p99 ≤ {TARGET_P99_MS:.0f} ms", "value": w["latency_ms"]["p99"],
                               "ok": w["latency_ms"]["p99"] is not None and w["latency_ms"]["p99"] <= TARGET_P99_MS})
            checks.append({"what": f"{config['label']} {name} zero errors (non-2xx + socket)",
                           "value": w["non_2xx"] + w["socket_errors_total"], "ok": w["non_2xx"] + w["socket_errors_total"] == 0})
            if "durability" in w:
                checks.append({"what": f"{config['label']} {name} every 201 committed (rows = 201s)",
                               "value": f"{w['durability']['new_rows']} / {w['durability']['server_201']}",
                               "ok": w["durability"]["ok"]})
        if not report["smoke"]:
            idle = config["idle_rss"].get("VmRSS")
            checks.append({"what": f"{config['label']} idle RSS ≤ {TARGET_IDLE_RSS_MIB:.0f} MiB", "value": idle,
                           "ok": idle is not None and idle <= TARGET_IDLE_RSS_MIB})
            checks.append({"what": f"{config['label']} exec → ready ≤ {TARGET_READY_MS:.0f} ms", "value": config["ready_ms"],
                           "ok": config["ready_ms"] <= TARGET_READY_MS})
    return checks


def render_ratios(report: dict) -> list[str]:
    """The section that leads a report: each workload's rate as a fraction of PostgreSQL alone."""
    if not report["params"].get("pgbench"):
        return []
    p = report["params"]
    clients = " / ".join(f"-c{c}" for c in p["pgbench_clients"])
    lines = [
        "## The API as a fraction of PostgreSQL alone",
        "",
        f"CPU: {report['machine']['cpu']} ({report['machine']['nproc']} CPUs). After each wrk workload, on the same "
        f"database and data, `pgbench -M prepared -j {p['threads']}` ran the statements the API sends for one request of "
        f"that workload (bench/pgbench/*.sql) for {p['pgbench_duration']} s at {clients} clients, a random seeded user "
        "per transaction. **ratio** = the API's req/s ÷ pgbench's best tps. CPU is utime+stime from /proc: the "
        "backend's, and the database's (every PostgreSQL process, exited ones included) per request or transaction. "
        "p99 is wrk's for the API, pgbench's per-transaction log for pgbench.",
        "",
    ]
    for config in report["configurations"]:
        rows = [(name, w) for name, w in config["workloads"].items() if w.get("limit")]
        if not rows:
            continue
        lines += [
            f"{config['label']}:",
            "",
            f"| workload | ratio | API req/s | pgbench tps {clients} | API p99 ms | pgbench p99 ms | backend CPU ms/req "
            "| database CPU ms/req: API / pgbench | pgbench CPU ms/tx |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, w in rows:
            limit = w["limit"]
            best = next(r for r in w["pgbench"] if r["clients"] == limit["pgbench_clients"])
            lines.append(
                f"| {name} | **{limit['ratio'] * 100:.1f} %** | {fmt(w['rps'])} | "
                + " / ".join(fmt(r["tps"]) for r in w["pgbench"])
                + f" | {fmt(w['latency_ms']['p99'], 1)} | {fmt(best['latency_ms']['p99'], 1)} | "
                f"{limit['api_cpu_ms']['backend']:.3f} | {limit['api_cpu_ms']['database']:.3f} / "
                f"{limit['pgbench_cpu_ms']['database']:.3f} | {limit['pgbench_cpu_ms']['pgbench']:.3f} |")
        lines.append("")
        check = config.get("statement_check")
        if check:
            lines.append(f"Statement check ({check['requests']} requests of each kind, one after the other, with "
                         "`log_statement = all`): " + ("the scripts send what the API sends per request."
                                                      if check["ok"] else "**the scripts differ from the API**:"))
            lines.append("")
            for workload, found in check["workloads"].items():
                for problem in found["problems"]:
                    lines.append(f"- {workload}: {problem}")
                for statement, per in found.get("per_request", {}).items():
                    lines.append(f"- {workload}, {per:g} per request: `{statement[:110]}{'…' if len(statement) > 110 else ''}`")
                for statement, seen in found.get("amortised", {}).items():
                    lines.append(f"- {workload}, {seen['count']} in {check['requests']} requests ({seen['why']}): "
                                 f"`{statement[:80]}{'…' if len(statement) > 80 else ''}`")
            lines.append("")
    return lines


def render_markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"# Benchmark {report['started']} — {report['mode']}{' (smoke)' if report['smoke'] else ''}",
        "",
        f"`{report['command']}`",
        "",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB, kernel {m['kernel']}; "
        f"load average at start {' '.join(str(x) for x in m['loadavg_at_start'])}.",
        f"- Code: binary `{m['binary']}` ({m['binary_size_mib']} MiB) built {m['binary_mtime']}, when the newest commit was "
        f"`{m.get('binary_commit', '?')}`; at run time HEAD was `{m['commit']}` with {m['dirty_files']} uncommitted files "
        "(another session edits the tree).",
        f"- Load: {m['wrk']}; `-t{report['params']['threads']} -c{report['params']['connections']} "
        f"-d{report['params']['duration']}s --latency`, {report['params']['warmup']} s list50 warm-up (not counted) "
        f"after each start.",
        f"- Database: {report['database']['kind']}: " + ", ".join(f"{k}={v}" for k, v in report['database']['settings'].items()),
        f"- Seed: {report['seed']['users']} users × {report['seed']['tasks_per_user']} tasks through the API; sign-ups "
        f"(bcrypt, default cost) {report['seed']['signup_seconds']} s, tasks {report['seed']['tasks_seconds']} s "
        f"({report['seed']['tasks_per_second']:,}/s from a Python client); one list50 answer is "
        f"{report['seed']['list50_bytes']:,} bytes ({report['seed']['list50_items']} tasks); then "
        + ("planner statistics gathered (`VACUUM ANALYZE`, as autovacuum would)." if report['seed'].get('analyzed')
           else "no planner statistics (`--no-analyze`)."),
        f"- First start on an empty database (runs the migrations): exec → ready "
        f"{report['first_start']['ready_ms']} ms, RSS {report['first_start']['idle_rss'].get('VmRSS')} MiB.",
        "",
    ]
    lines += render_ratios(report)
    for config in report["configurations"]:
        env = ", ".join(f"{k}={v}" for k, v in config["env"].items()) or "defaults (ACCESS_LOG=true)"
        lines += [
            f"## {config['label']}: {env}",
            "",
            f"Exec → first 200 on /readyz: **{config['ready_ms']} ms**; idle RSS **{config['idle_rss'].get('VmRSS')} MiB** "
            f"({config['idle_rss'].get('Threads')} threads); RSS after the run **{config.get('rss_after', {}).get('VmRSS')} MiB** "
            f"(peak {config.get('rss_after', {}).get('VmHWM')} MiB).",
            "",
            "| workload | req/s | p50 ms | p99 ms | max ms | non-2xx | socket errors | CPU cores: backend / db / wrk / other (busy of "
            f"{m['nproc']}) | load1 before | machine busy before |",
            "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        ]
        for name, w in config["workloads"].items():
            c = w["cpu_cores"]
            lat = w["latency_ms"]
            db_cpu = "–" if c["database"] is None else f"{c['database']:.2f}"
            lines.append(
                f"| {name} | {fmt(w['rps'])} | {fmt(lat['p50'], 2)} | {fmt(lat['p99'], 2)} | {fmt(lat['max'], 1)} | {w['non_2xx']} | "
                f"{w['socket_errors_total']} | {c['backend']:.2f} / {db_cpu} / {c['wrk']:.2f} / {c['other']:.2f} "
                f"({c['machine_busy']:.2f}) | {w['machine_before']['loadavg'][0]:.2f} | {w['machine_before']['busy_cores_1s']:.2f} |")
        lines.append("")
        for name, w in config["workloads"].items():
            if "durability" in w:
                d = w["durability"]
                lines.append(f"- {name}: the server answered 201 {d['server_201']:,} times and the database gained "
                             f"{d['new_rows']:,} rows ({'every 201 committed' if d['ok'] else 'MISMATCH'}).")
            others = w["machine_before"]["other_processes"]
            if others or w["machine_before"]["swift_builds"]:
                desc = ", ".join(f"{p['comm']} ({p['cores']:.2f})" for p in others)
                lines.append(f"- before {name}, other processes busy: {desc or 'none'}"
                             + (f"; swift build running: {len(w['machine_before']['swift_builds'])} process(es)"
                                if w["machine_before"]["swift_builds"] else ""))
        lines.append("")
    if any("profile" in w for c in report["configurations"] for w in c["workloads"].values()):
        lines += ["## Profile", "",
                  "perf: `perf record -e cpu-clock -F 499 -a -g` for the workload's duration (whole machine). Percentages "
                  "are of all samples (by process) or of the process's samples (functions; 'children' = inclusive).", ""]
        for config in report["configurations"]:
            for name, w in config["workloads"].items():
                profile = w.get("profile")
                if not profile:
                    continue
                lines += [f"### {config['label']} {name}", ""]
                database = profile.get("database")
                if database:
                    per = database["per_request"]
                    lines += [f"Per HTTP request: {per['xact_commit']} transactions (one per statement: no BEGIN), "
                              f"{per['tup_returned']} tuples returned, {per['tup_fetched']} fetched, {per['tup_inserted']} inserted, "
                              f"{per['blks_hit']} buffer hits, {per['blks_read']} reads, {per['wal_records']} WAL records, "
                              f"{per['wal_bytes']} WAL bytes, {per['wal_sync']} WAL syncs "
                              f"({database['wal_sync']:,} syncs for {database['xact_commit']:,} transactions).", ""]
                perf = profile.get("perf") or {}
                for key, title in (("backend_shares", "Backend"), ("postgres_shares", "PostgreSQL")):
                    if perf.get(key):
                        lines += [f"{title} CPU samples whose stack contains (inclusive, overlapping):", "",
                                  "| what | share |", "|---|---:|"]
                        for label, value in perf[key]:
                            lines.append(f"| {label} | {value if label == '(samples)' else f'{value:.1f} %'} |")
                        lines.append("")
                for key, title in (("by_process", "CPU by process and object"), ("backend_self", "backend: self time"),
                                   ("backend_children", "backend: inclusive time"), ("postgres_self", "PostgreSQL: self time")):
                    if perf.get(key):
                        lines += [f"<details><summary>{title}</summary>", "", "```", perf[key], "```", "", "</details>", ""]
        if report.get("plans"):
            lines += ["### Query plans", ""]
            for name, plan in report["plans"].items():
                lines += [f"{name}:", "", "```", plan, "```", ""]
    lines += ["## Targets", "", "| check | value | |", "|---|---:|---|"]
    for check in report["checks"]:
        lines.append(f"| {check['what']} | {check['value']} | {verdict(check['ok'])} |")
    lines += ["", "## wrk and pgbench output", ""]
    for config in report["configurations"]:
        for name, w in config["workloads"].items():
            lines += [f"<details><summary>{config['label']} {name}</summary>", "", "```", w["command"],
                      w["wrk_output"].rstrip(), "```", ""]
            for run in w.get("pgbench", []):
                lines += ["```", run["command"], run["output"].rstrip(), "```", ""]
            lines += ["</details>", ""]
    return "\n".join(lines) + "\n"


ROW_MARKER = "<!-- runs: bench.py appends one row per configuration at the end of this file -->"
RATIO_MARKER = "<!-- ratio runs: bench.py inserts one row per configuration above this line -->"


def ratio_rows(report: dict, relative_result: str) -> list[str]:
    """Rows of the ratio table at the top of RESULTS.md: per workload the API's share of
    pgbench's rate, the API's p99 and the backend's CPU per request."""
    rows = []
    m = report["machine"]
    for config in report["configurations"]:
        cells = []
        for name in WORKLOADS:
            w = config["workloads"].get(name)
            if not w or not w.get("limit"):
                cells.append("–")
                continue
            cells.append(f"**{w['limit']['ratio'] * 100:.1f} %** · {fmt(w['latency_ms']['p99'], 1)} · "
                         f"{w['limit']['api_cpu_ms']['backend']:.3f}")
        loads = [w["machine_before"]["loadavg"][0] for w in config["workloads"].values()]
        rows.append(f"| {report['started']} | {config['env'].get('ACCESS_LOG', 'true')} | "
                    f"`{m.get('binary_commit', m['commit'])}` | {m['cpu']}, {m['nproc']} CPUs, load "
                    f"{min(loads) if loads else 0:.1f}–{max(loads) if loads else 0:.1f} | {' | '.join(cells)} | "
                    f"[{Path(relative_result).name}]({relative_result}) |")
    return rows


def append_rows(report: dict, results_md: Path, relative_result: str) -> None:
    rows = []
    m = report["machine"]
    for config in report["configurations"]:
        cells = []
        for name in WORKLOADS:
            w = config["workloads"].get(name)
            cells.append("–" if not w else f"{fmt(w['rps'])} / {fmt(w['latency_ms']['p99'], 1)}")
        errors = sum(w["non_2xx"] + w["socket_errors_total"] for w in config["workloads"].values())
        loads = [w["machine_before"]["loadavg"][0] for w in config["workloads"].values()]
        cpu = config["workloads"].get("list50", {}).get("cpu_cores")
        split = "–" if not cpu else (f"{cpu['backend']:.2f}/{'–' if cpu['database'] is None else format(cpu['database'], '.2f')}"
                                     f"/{cpu['wrk']:.2f}/{cpu['other']:.2f}")
        mode = report["mode"] + (" smoke" if report["smoke"] else "")
        access = config["env"].get("ACCESS_LOG", "true")
        rows.append(
            f"| {report['started']} | {mode} | {access} | `{m.get('binary_commit', m['commit'])}` {m['binary_mtime'][11:]} "
            f"| {' | '.join(cells)} | {errors} | {config['idle_rss'].get('VmRSS')} | {config.get('rss_after', {}).get('VmRSS')} "
            f"| {config['ready_ms']:.0f} | {split} | {m['nproc']} / {min(loads) if loads else 0:.2f}–{max(loads) if loads else 0:.2f} "
            f"| [{Path(relative_result).name}]({relative_result}) |")
    text = results_md.read_text() if results_md.exists() else ""
    if ROW_MARKER not in text:
        raise SystemExit(f"{results_md} has no row marker; not appending")
    text = text.rstrip("\n") + "\n" + "\n".join(rows) + "\n"
    ratios = ratio_rows(report, relative_result)
    if ratios and RATIO_MARKER in text:
        text = text.replace(RATIO_MARKER, "\n".join(ratios) + "\n" + RATIO_MARKER)
    results_md.write_text(text)


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--smoke", action="store_true", help="short CI run: exits 1 on any non-2xx, socket error or 201 without a stored row")
    parser.add_argument("--bin", type=Path, required=True, help="the todo binary")
    parser.add_argument("--duration", type=int, help="seconds per workload (15; smoke 3)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, help="wrk connections (64; smoke 16)")
    parser.add_argument("--users", type=int, help="seeded users (20; smoke 4)")
    parser.add_argument("--tasks-per-user", type=int, help="seeded tasks per user (200; smoke 60)")
    parser.add_argument("--access-log", choices=["both", "on", "off"], help="configurations to run (both; smoke on)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--warmup", type=int, help="seconds of list50 after each start, not counted (3; smoke 0)")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds between ready and the idle RSS reading")
    parser.add_argument("--sample", type=float, default=1.0, help="seconds of CPU sampling before each workload")
    parser.add_argument("--wait-for-builds", type=int, help="before the run and each workload, wait while a swift build "
                        "runs or the machine is busy (see --quiet-threshold), at most this many seconds in all (600; smoke 0)")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="skip gathering planner statistics after seeding (VACUUM ANALYZE / ANALYZE)")
    parser.add_argument("--profile", action="store_true", help="also record `perf` (system-wide) during each workload, "
                        "database counters per request and query plans; adds a profile section; not appended to RESULTS.md")
    parser.add_argument("--quiet-threshold", type=float, default=0.5,
                        help="busy cores (whole machine, 1 s sample) that make a workload wait (0.5)")
    parser.add_argument("--no-pgbench", dest="pgbench", action="store_false",
                        help="PostgreSQL: skip pgbench with the API's statements after each workload (and the ratios)")
    parser.add_argument("--pgbench-clients", default="16,64", help="pgbench connections, one run each (16,64)")
    parser.add_argument("--pgbench-duration", type=int, help="seconds per pgbench run (the wrk duration; smoke 2)")
    parser.add_argument("--no-record", action="store_true", help="do not write bench/results or bench/RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    args = parser.parse_args()

    smoke = args.smoke
    args.duration = args.duration or (3 if smoke else 15)
    args.connections = args.connections or (16 if smoke else 64)
    args.users = args.users or (4 if smoke else 20)
    args.tasks_per_user = args.tasks_per_user or (60 if smoke else 200)
    args.access_log = args.access_log or ("on" if smoke else "both")
    args.warmup = args.warmup if args.warmup is not None else (0 if smoke else 3)
    args.wait_for_builds = args.wait_for_builds if args.wait_for_builds is not None else (0 if smoke else 600)
    args.pgbench = args.pgbench and args.mode == "postgres"
    args.pgbench_clients = [int(c) for c in args.pgbench_clients.split(",") if c]
    args.pgbench_duration = args.pgbench_duration or (2 if smoke else args.duration)
    args.workloads = [w for w in args.workloads.split(",") if w]
    for w in args.workloads:
        if w not in WORKLOADS:
            parser.error(f"unknown workload {w}")
    binary = args.bin.absolute()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found (apt-get install -y wrk)")

    run_started = time.monotonic()
    wait_for_builds(args)
    started = dt.datetime.now()
    report: dict = {
        "started": started.strftime("%Y-%m-%d %H:%M"),
        "mode": args.mode,
        "smoke": smoke,
        "command": "bench/run.sh " + " ".join(sys.argv[1:]),
        "params": {"duration": args.duration, "threads": args.threads, "connections": args.connections,
                   "warmup": args.warmup, "pgbench": args.pgbench, "pgbench_clients": args.pgbench_clients,
                   "pgbench_duration": args.pgbench_duration},
        "machine": machine_info(binary),
        "swift_builds_at_start": swift_builds_running(),
    }
    if args.profile and shutil.which("perf") is None:
        raise SystemExit("--profile needs perf (apt-get install -y linux-perf)")
    work = Path(tempfile.mkdtemp(prefix="todo-bench."))
    os.chmod(work, 0o755)
    # Run a copy: other sessions may rebuild .build/release while the run is under way.
    pinned = work / "todo"
    shutil.copy2(binary, pinned)
    binary = pinned
    db = Postgres(work) if args.mode == "postgres" else SQLiteDB(work)
    if args.pgbench and not (db.bin / "pgbench").exists():
        shutil.rmtree(work, ignore_errors=True)
        raise SystemExit("pgbench not found beside the PostgreSQL server (apt-get install -y postgresql-contrib), "
                         "or run with --no-pgbench")
    interrupted = False
    failed_run = False

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    first = None
    try:
        db.start()
        report["database"] = {"kind": db.kind, "settings": db.settings()}
        log(f"{db.kind} ready: {report['database']['settings']}")
        # First start on an empty database: migrations run; then seed through the API.
        first = Backend(binary, db.url, work, {})
        ready = first.start("seed")
        report["first_start"] = {"ready_ms": round(ready, 1), "idle_rss": rss_mib(first.pid)}
        log(f"first start (with migrations): ready in {ready:.0f} ms; seeding {args.users} users × {args.tasks_per_user} tasks")
        seeded = seed(first, args.users, args.tasks_per_user)
        first.stop()
        if args.analyze:
            # What autovacuum does a minute later on a live server: without statistics the planner
            # picks a bitmap scan + sort for list50 (reads all of a user's tasks), and it would switch
            # plans in the middle of the run when autovacuum gets there.
            started_analyze = time.monotonic()
            db.analyze()
            log(f"statistics gathered ({'VACUUM ANALYZE' if db.kind == 'postgres' else 'ANALYZE'}, "
                f"{time.monotonic() - started_analyze:.1f} s)")
        report["seed"] = {k: v for k, v in seeded.items() if k != "accounts"}
        report["seed"].update(users=args.users, tasks_per_user=args.tasks_per_user, analyzed=args.analyze)
        log(f"seeded: {report['seed']}")
        data_path = work / "data.lua"
        write_lua_data(seeded["accounts"], data_path)

        configurations = []
        if args.access_log in ("both", "on"):
            configurations.append(("access-log", {}))
        if args.access_log in ("both", "off"):
            configurations.append(("no-access-log", {"ACCESS_LOG": "false"}))
        if args.pgbench and not seeded["round_robin_ids"]:
            raise RuntimeError("the seeded task ids do not follow first + i * users + u; pgbench's get_one needs them to")
        report["configurations"] = [run_configuration(label, args, binary, db, work, data_path, env, seeded["accounts"],
                                                      check_statements_first=args.pgbench and index == 0)
                                    for index, (label, env) in enumerate(configurations)]
        report["database"]["tasks_at_end"] = db.task_count()
        if args.profile:
            account = seeded["accounts"][0]
            report["plans"] = db.explain(account["id"], account["tasks"][len(account["tasks"]) // 2])
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted")
    except Exception:
        # A backend that died or a database that would not start: say so, clean up, fail.
        import traceback
        traceback.print_exc()
        log(f"the run failed; logs were in {work} (kept with --keep)")
        failed_run = True
    finally:
        if first:
            first.stop()
        db.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if interrupted:
        return 130
    if failed_run:
        return 2

    report["checks"] = check_targets(report)
    report["elapsed_seconds"] = round(time.monotonic() - run_started, 1)
    failed = [c for c in report["checks"] if not c["ok"]]
    errors = [c for c in failed if "zero errors" in c["what"] or "committed" in c["what"] or "statements" in c["what"]]
    if not args.no_record:
        # Smoke runs (CI) go to bench/out/, which git ignores; full runs are kept in bench/results/.
        results = BENCH_DIR / ("out" if smoke else "results")
        results.mkdir(exist_ok=True)
        name = started.strftime("%Y-%m-%d-%H%M") + f"-{args.mode}{'-smoke' if smoke else ''}{'-profile' if args.profile else ''}"
        (results / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
        (results / f"{name}.md").write_text(render_markdown(report))
        if not smoke and not args.profile:
            append_rows(report, BENCH_DIR / "RESULTS.md", f"results/{name}.md")
        log(f"wrote {results.relative_to(REPO_DIR)}/{name}.md and .json" + ("" if smoke or args.profile else "; appended to bench/RESULTS.md"))
    else:
        print(render_markdown(report))
    for config in report["configurations"]:
        for name, w in config["workloads"].items():
            if w.get("limit"):
                limit = w["limit"]
                log(f"ratio [{config['label']}] {name}: {limit['ratio'] * 100:.1f} % of PostgreSQL alone "
                    f"({w['rps']:,.0f} req/s / {limit['pgbench_tps']:,.0f} tps), p99 {w['latency_ms']['p99']} ms; "
                    f"CPU ms per request: backend {limit['api_cpu_ms']['backend']}, database {limit['api_cpu_ms']['database']} "
                    f"(pgbench: database {limit['pgbench_cpu_ms']['database']})")
    log(f"done in {report['elapsed_seconds']} s; {len(failed)} of {len(report['checks'])} checks failed")
    for check in failed:
        log(f"  FAILED {check['what']}: {check['value']}")
    if smoke:
        return 1 if errors else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
