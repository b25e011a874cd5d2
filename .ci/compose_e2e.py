#!/usr/bin/env python3
"""End-to-end checks of the Compose files, run by .ci/containers.sh.

usage: compose_e2e.py postgres --project P --env-file F --services "db migrate api" [ports...]
       compose_e2e.py sqlite   --project P --env-file F --override F --port N

postgres: docker-compose.yml + docker-compose.ci.yml. Brings the listed services up (waiting
  for health), checks start order and container hardening, signs up (through the web's /api
  proxy when web runs), adds tasks and reads them back; removes and recreates the backend
  container and checks nothing is lost; `down` (keeping the volume) and `up` again and
  checks nothing is lost; finally `down -v` and checks the volume is gone.
sqlite: docker-compose.sqlite.yml: the one-container variant, data and generated secret on
  the volume, which must survive `down` + `up`.

Prints one `ok N - ...` / `not ok N - ...` line per check (the caller counts them), the
duration of each step, and the containers' logs when something fails. Exit status: 0 when
every check passed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime

import requests

CHECKS = {"passed": 0, "failed": 0}
UID = "65532"


def check(description: str, condition: bool, detail: str = "") -> bool:
    number = CHECKS["passed"] + CHECKS["failed"] + 1
    if condition:
        CHECKS["passed"] += 1
        print(f"ok {number} - {description}", flush=True)
    else:
        CHECKS["failed"] += 1
        print(f"not ok {number} - {description}" + (f": {detail}" if detail else ""), flush=True)
    return condition


class Step:
    """Prints a step's name and, at the end, how long it took."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        print(f"--- {self.name}", flush=True)
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.start
        print(f"--- {self.name}: {self.seconds:.1f} s", flush=True)
        return False


def run(argv: list[str], check_status: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, capture_output=True, text=True)
    if check_status and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def docker_time(text: str) -> datetime:
    """Docker's RFC 3339 times carry up to nanoseconds; datetime takes microseconds."""
    main, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{main}.{(fraction + '000000')[:6]}")


def inspect(container_id: str) -> dict:
    return json.loads(run(["docker", "inspect", container_id]).stdout)[0]


def host_process_status(container: dict) -> dict[str, str]:
    """The /proc/PID/status fields of the container's main process, read from the host."""
    fields = {}
    with open(f"/proc/{container['State']['Pid']}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


class Compose:
    def __init__(self, project: str, env_file: str, files: list[str]):
        self.base = ["docker", "compose", "-p", project, "--env-file", env_file]
        for name in files:
            self.base += ["-f", name]
        self.project = project

    def __call__(self, *arguments: str, check_status: bool = True) -> subprocess.CompletedProcess:
        return run(self.base + list(arguments), check_status)

    def up(self, services: list[str]) -> None:
        self("up", "--detach", "--wait", "--wait-timeout", "240", "--no-build", "--pull", "never", *services)

    def container_id(self, service: str) -> str:
        ids = self("ps", "--all", "--quiet", service).stdout.split()
        return ids[0] if ids else ""

    def containers(self) -> list[str]:
        return run(["docker", "ps", "--all", "--quiet", "--filter", f"label=com.docker.compose.project={self.project}"]).stdout.split()

    def volumes(self) -> list[str]:
        return run(["docker", "volume", "ls", "--quiet", "--filter", f"label=com.docker.compose.project={self.project}"]).stdout.split()

    def print_logs(self) -> None:
        print(f"--- logs of {self.project}", flush=True)
        logs = self("logs", "--no-color", "--timestamps", "--tail", "80", check_status=False)
        print(logs.stdout + logs.stderr, flush=True)


class Client:
    """The parts of the API the checks need, through one base URL."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def signup(self, email: str, password: str) -> requests.Response:
        return self.session.post(f"{self.base_url}/api/auth/signup", json={"email": email, "password": password}, timeout=30)

    def login(self, email: str, password: str) -> requests.Response:
        return self.session.post(f"{self.base_url}/api/auth/login", json={"email": email, "password": password}, timeout=30)

    def add_task(self, token: str, task: dict) -> requests.Response:
        return self.session.post(f"{self.base_url}/api/me/tasks", json=task, headers=auth(token), timeout=10)

    def complete(self, token: str, task_id: str) -> requests.Response:
        return self.session.patch(f"{self.base_url}/api/me/tasks/{task_id}/complete", json={"completed": True}, headers=auth(token), timeout=10)

    def tasks(self, token: str) -> requests.Response:
        return self.session.get(f"{self.base_url}/api/me/tasks", params={"sort": "created", "limit": 200}, headers=auth(token), timeout=10)


def env_file_value(path: str, name: str) -> str:
    """NAME's value in a .env file (one NAME=value line, unquoted), or ""."""
    with open(path) as env_file:
        for line in env_file:
            key, separator, value = line.strip().partition("=")
            if separator and key == name:
                return value
    return ""


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def task_digest(items: list[dict]) -> list[tuple]:
    """What must survive a restart: every stored field of every task."""
    keys = ("id", "title", "description", "completed", "priority", "tags", "due_at", "recurrence", "created_at", "updated_at")
    return sorted(tuple(json.dumps(item.get(key), sort_keys=True) for key in keys) for item in items)


SAMPLE_TASKS = [
    {"title": "Pay rent", "priority": "high", "tags": ["home"], "due_at": "2030-12-01T09:00:00Z"},
    {"title": "Write the container docs", "description": "sizes, roles, variables", "tags": ["work", "docs"]},
    {"title": "Buy milk", "priority": "low"},
    # Weekly at 09:00 Berlin time; Berlin moves to summer time on 2030-03-31, so the next
    # occurrence is at 07:00 UTC, not 08:00: proves the image's time-zone (ICU) data works.
    {"title": "Water the plants", "due_at": "2030-03-30T08:00:00Z",
     "recurrence": {"frequency": "weekly", "interval": 1, "timezone": "Europe/Berlin"}},
]
RECURRING_TITLE = "Water the plants"
ASSISTANT_TITLE = "call the plumber"
NEXT_OCCURRENCE_DUE = "2030-04-06T07:00:00.000Z"


def seed_account(client: Client, label: str) -> tuple[str, str, str, list[tuple]]:
    """Signs up, adds the sample tasks, completes the recurring one, and returns (email,
    password, token, digest of the stored tasks)."""
    email = f"{label}-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery staple"
    response = client.signup(email, password)
    check(f"sign-up through {client.base_url} answers 201", response.status_code == 201, f"{response.status_code} {response.text[:300]}")
    token = response.json().get("token", "") if response.status_code == 201 else ""
    created = {}
    for task in SAMPLE_TASKS:
        response = client.add_task(token, task)
        if response.status_code == 201:
            created[task["title"]] = response.json()
    check(f"{len(SAMPLE_TASKS)} tasks added (201 each)", len(created) == len(SAMPLE_TASKS), f"{len(created)} created: {response.status_code} {response.text[:200]}")
    if RECURRING_TITLE in created:
        response = client.complete(token, created[RECURRING_TITLE]["id"])
        check("the recurring task marked complete", response.status_code == 200 and response.json().get("completed") is True, f"{response.status_code} {response.text[:200]}")
    response = client.session.post(f"{client.base_url}/api/me/chat", json={"message": f"add {ASSISTANT_TITLE} tomorrow 9am"},
                                   headers=auth(token), timeout=60)
    calls = response.json().get("tool_calls", []) if response.status_code == 200 else []
    check("the assistant (offline agent, through the MCP server) adds a task",
          [call.get("name") for call in calls] == ["add_task"] and not calls[0].get("is_error"), f"{response.status_code} {response.text[:300]}")
    response = client.tasks(token)
    items = response.json().get("items", []) if response.status_code == 200 else []
    titles = sorted(item["title"] for item in items)
    expected = sorted([task["title"] for task in SAMPLE_TASKS] + [RECURRING_TITLE, ASSISTANT_TITLE])
    check("the tasks read back, with the next occurrence and the assistant's task", titles == expected, f"{response.status_code} {titles}")
    next_due = [item.get("due_at") for item in items if item["title"] == RECURRING_TITLE and not item.get("completed")]
    check(f"the next occurrence is due {NEXT_OCCURRENCE_DUE} (time-zone rules applied)", next_due == [NEXT_OCCURRENCE_DUE], str(next_due))
    return email, password, token, task_digest(items)


def verify_account(client: Client, email: str, password: str, token: str, digest: list[tuple], when: str) -> None:
    response = client.tasks(token)
    check(f"{when}: the old access token still works", response.status_code == 200, f"{response.status_code} {response.text[:200]}")
    items = response.json().get("items", []) if response.status_code == 200 else []
    check(f"{when}: every task is there, unchanged", task_digest(items) == digest, f"{len(items)} tasks: {[item.get('title') for item in items]}")
    response = client.login(email, password)
    check(f"{when}: log-in with the password works", response.status_code == 200, f"{response.status_code} {response.text[:200]}")


def check_hardening(service: str, container: dict) -> None:
    config, host = container["Config"], container["HostConfig"]
    status = host_process_status(container) if container["State"].get("Pid") else {}
    uids = status.get("Uid", "").split()
    check(f"{service}: runs as uid {UID} (image user {config.get('User')}, /proc Uid {' '.join(uids)})",
          config.get("User", "").split(":")[0] == UID and uids and all(uid == UID for uid in uids))
    check(f"{service}: read-only root, all capabilities dropped, no-new-privileges",
          host.get("ReadonlyRootfs") is True and host.get("CapDrop") == ["ALL"]
          and any(option.startswith("no-new-privileges") for option in host.get("SecurityOpt") or [])
          and status.get("CapEff") == "0000000000000000" and status.get("NoNewPrivs") == "1",
          f"ReadonlyRootfs={host.get('ReadonlyRootfs')} CapDrop={host.get('CapDrop')} CapEff={status.get('CapEff')} NoNewPrivs={status.get('NoNewPrivs')}")
    check(f"{service}: no tmpfs and no volume (nothing to write on PostgreSQL)",
          not host.get("Tmpfs") and not container.get("Mounts"), f"Tmpfs={host.get('Tmpfs')} Mounts={container.get('Mounts')}")


def postgres_stack(arguments: argparse.Namespace) -> None:
    compose = Compose(arguments.project, arguments.env_file, ["docker-compose.yml", "docker-compose.ci.yml"])
    services = arguments.services.split()
    app_services = [name for name in services if name in ("api", "web", "mcp")]
    api = Client(f"http://127.0.0.1:{arguments.api_port}")
    # The browser's path: through the web's /api proxy once the web UI runs.
    front = Client(f"http://127.0.0.1:{arguments.web_port}") if "web" in services else api
    try:
        with Step(f"compose up {' '.join(services)} (to healthy)") as step:
            compose.up(services)
        print(f"compose up to healthy: {step.seconds:.1f} s", flush=True)
        check("no Docker network was created", not run(["docker", "network", "ls", "--quiet", "--filter", f"label=com.docker.compose.project={compose.project}"]).stdout.strip())

        with Step("start order and hardening"):
            migrate = inspect(compose.container_id("migrate"))
            backend = inspect(compose.container_id("api"))
            check("migrate ran once and exited 0", migrate["State"]["Status"] == "exited" and migrate["State"]["ExitCode"] == 0, json.dumps(migrate["State"])[:300])
            check("the backend started after the migration finished",
                  docker_time(backend["State"]["StartedAt"]) > docker_time(migrate["State"]["FinishedAt"]),
                  f"api {backend['State']['StartedAt']} migrate finished {migrate['State']['FinishedAt']}")
            for service in app_services:
                container = inspect(compose.container_id(service))
                check(f"{service}: healthy by its health check", container["State"].get("Health", {}).get("Status") == "healthy")
                check_hardening(service, container)
            response = requests.get(f"{api.base_url}/readyz", timeout=5)
            check("backend /readyz is 200 (schema current, database reachable)", response.status_code == 200, f"{response.status_code} {response.text[:200]}")
            if env_file_value(arguments.env_file, "VAPID_PRIVATE_KEY"):
                # Compose passed the .env's key on: the backend serves its public half (65 bytes, 0x04 first).
                response = requests.get(f"{api.base_url}/api/push/vapid-public-key", timeout=5)
                key = response.json().get("key", "") if response.status_code == 200 else ""
                point = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)) if key else b""
                check("Web Push on with the .env's VAPID_PRIVATE_KEY: /api/push/vapid-public-key is 200 with a P-256 public key",
                      len(point) == 65 and point[0] == 4, f"{response.status_code} {response.text[:200]}")

        with Step("sign up, add tasks, read them back"):
            email, password, token, digest = seed_account(front, "compose")

        with Step("remove and recreate the backend container"):
            old_id = compose.container_id("api")
            compose("rm", "--stop", "--force", "api")
            check("the backend container is gone", compose.container_id("api") == "")
            compose.up(services)
            new_id = compose.container_id("api")
            check("a new backend container is healthy", new_id not in ("", old_id) and inspect(new_id)["State"].get("Health", {}).get("Status") == "healthy")
            verify_account(front, email, password, token, digest, "after recreating the backend")

        with Step("down (keeping the volume), up again"):
            compose("down", "--timeout", "30")
            check("down removed every container", compose.containers() == [], " ".join(compose.containers()))
            check("down kept the database volume", f"{compose.project}_db-data" in compose.volumes(), " ".join(compose.volumes()))
            compose.up(services)
            verify_account(front, email, password, token, digest, "after down and up")
    except Exception as error:  # a failed command is one failed check, with the logs
        check("compose commands succeed", False, str(error))
        compose.print_logs()
    finally:
        if CHECKS["failed"]:
            compose.print_logs()
        with Step("down -v"):
            result = compose("down", "--volumes", "--timeout", "30", check_status=False)
            check("down -v removed the containers and the volume",
                  result.returncode == 0 and compose.containers() == [] and compose.volumes() == [],
                  result.stderr[-300:])


def sqlite_stack(arguments: argparse.Namespace) -> None:
    compose = Compose(arguments.project, arguments.env_file, ["docker-compose.sqlite.yml", arguments.override])
    # Through the web UI's /api proxy, as a browser would.
    client = Client(f"http://127.0.0.1:{arguments.web_port}")
    try:
        with Step("compose up (SQLite, one container)") as step:
            compose.up([])
        print(f"compose up to healthy (SQLite): {step.seconds:.1f} s", flush=True)
        container = inspect(compose.container_id("todo"))
        status = host_process_status(container)
        check("sqlite: runs as uid 65532, read-only root, no capabilities",
              status.get("Uid", "").split() == [UID] * 4 and container["HostConfig"]["ReadonlyRootfs"] is True
              and status.get("CapEff") == "0000000000000000", f"Uid={status.get('Uid')} CapEff={status.get('CapEff')}")
        for role, port in (("web UI", arguments.web_port), ("MCP server", arguments.mcp_port)):
            response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            check(f"sqlite: `todo serve` runs the {role} too (/healthz on {port})", response.status_code == 200, f"{response.status_code}")
        mounts = {mount["Destination"]: mount for mount in container["Mounts"]}
        check("sqlite: the only writable place is the /data volume",
              list(mounts) == ["/data"] and mounts["/data"]["Type"] == "volume" and not container["HostConfig"].get("Tmpfs"), str(list(mounts)))
        with Step("sign up, add tasks, read them back"):
            email, password, token, digest = seed_account(client, "sqlite")
        source = mounts["/data"]["Source"]
        owner = os.stat(source)
        check("sqlite: the volume is owned by 65532 and holds todo.db and the generated secret",
              (owner.st_uid, owner.st_gid) == (65532, 65532) and {"todo.db", "auth-secret"} <= set(os.listdir(source)),
              f"{owner.st_uid}:{owner.st_gid} {sorted(os.listdir(source))}")
        with Step("down (keeping the volume), up again"):
            compose("down", "--timeout", "30")
            compose.up([])
            verify_account(client, email, password, token, digest, "sqlite after down and up")
    except Exception as error:
        check("compose commands succeed", False, str(error))
        compose.print_logs()
    finally:
        if CHECKS["failed"]:
            compose.print_logs()
        with Step("down -v"):
            result = compose("down", "--volumes", "--timeout", "30", check_status=False)
            check("sqlite: down -v removed the container and the volume",
                  result.returncode == 0 and compose.containers() == [] and compose.volumes() == [], result.stderr[-300:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", choices=["postgres", "sqlite"])
    parser.add_argument("--project", required=True, help="Compose project name")
    parser.add_argument("--env-file", required=True, help="the .env file Compose reads")
    parser.add_argument("--services", default="db migrate api", help="postgres: the services to start")
    parser.add_argument("--api-port", type=int, default=18000)
    parser.add_argument("--web-port", type=int, default=13000)
    parser.add_argument("--mcp-port", type=int, default=18001)
    parser.add_argument("--override", help="sqlite: the CI override file")
    parser.add_argument("--port", type=int, default=18096, help="sqlite: the app's port")
    arguments = parser.parse_args()
    if arguments.stack == "postgres":
        postgres_stack(arguments)
    else:
        sqlite_stack(arguments)
    print(f"compose e2e ({arguments.stack}): {CHECKS['passed']} checks passed, {CHECKS['failed']} failed", flush=True)
    return 0 if CHECKS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
