"""The acceptance checks, run against the emulated cluster of one mode.

- Order: PostgreSQL StatefulSet, wait ready; the migration Job (a pre-upgrade hook in this
  mode, run here as an upgrade would: against the running database; it must exit 0 within
  its backoffLimit and activeDeadlineSeconds); the Deployments with their rendered replica
  counts (HPA, PDB, Ingress, NetworkPolicies and scheduling fields have no Docker meaning);
  then the `helm test` pods, which must exit 0.
- Then: every pod running and ready (the pods' start-to-ready times printed), uid, read-only
  root and no capabilities read from /proc; the dashboard at the web Service address; sign-up,
  tasks and the assistant through the MCP server; the backend pods deleted and recreated, the
  PostgreSQL pod deleted and recreated on its volume: nothing lost.
- Rollout: the Deployment's rendered strategy. RollingUpdate (maxSurge 1, maxUnavailable 0):
  per old pod, start a new one, wait until ready, then delete the old one; the stream of
  requests (4 threads, POST create + GET list, a new connection per request, through the
  backend Service) must see no failed and no refused request. Recreate (SQLite: one writer on
  a ReadWriteOnce volume): delete the old pod, then start the new one; requests are refused
  during the gap (counted, printed, retried by the client, which may: they never reached a
  pod) and none may fail after reaching a pod. Both: every acknowledged create is stored.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field

import requests

from compose_e2e import Client, Step, auth, check, host_process_status, inspect, seed_account, verify_account

from .cluster import Cluster, log, services

STREAM_THREADS = 4


def start_everything(cluster: Cluster) -> bool:
    with Step("PostgreSQL StatefulSet (to ready)"):
        if not cluster.workload("StatefulSet"):
            log("  none rendered in this mode")
        for statefulset in cluster.workload("StatefulSet"):
            pod = cluster.new_pod(statefulset["metadata"]["name"], ordinal=0)
            check(f"{pod.name} ready by its readinessProbe", pod.wait_ready(90), pod.failure)
    with Step("migration Job (Helm hook)"):
        jobs = cluster.rendered.hooks("Job")
        if cluster.mode == "postgres":
            check("the migration Job is rendered as a Helm hook", len(jobs) == 1, str([job["metadata"]["name"] for job in jobs]))
        elif not jobs:
            log("  none rendered in this mode (the backend migrates at start)")
        for job in jobs:
            code, seconds = cluster.run_job(job)
            check(f"Job {job['metadata']['name']} exits 0 ({seconds:.1f} s)", code == 0, f"exit {code}")
    with Step("Deployments (to ready)"):
        for deployment in cluster.workload("Deployment"):
            for _ in range(deployment["spec"].get("replicas", 1)):
                cluster.new_pod(deployment["metadata"]["name"])
        waiting = [pod for pod in cluster.pods if pod.template.owner.startswith("Deployment/")]
        all_ready = all([pod.wait_ready(90) for pod in waiting])
    log("start-to-ready (pod started = `docker run` called):")
    for pod in cluster.pods:
        log("  " + pod.readiness_figures())
    return check(f"every pod running and ready ({len(cluster.pods)} pods: {', '.join(pod.name for pod in cluster.pods)})",
                 all_ready and all(pod.ready and pod.running() for pod in cluster.pods),
                 "; ".join(f"{pod.name}: {pod.failure or 'not ready'}" for pod in cluster.pods if not pod.ready))


def check_translation(cluster: Cluster) -> None:
    """The containers run as rendered: user, read-only root, no capabilities (read from /proc)."""
    for pod in cluster.pods:
        container = inspect(pod.docker_name)
        status = host_process_status(container)
        flags = pod.container.flags
        uid = flags[flags.index("--user") + 1].split(":")[0] if "--user" in flags else None
        check(f"{pod.name}: uid {uid} (/proc), read-only root, no capabilities, no-new-privileges",
              uid is not None and status.get("Uid", "").split() == [uid] * 4
              and container["HostConfig"]["ReadonlyRootfs"] is True and status.get("CapEff") == "0000000000000000"
              and status.get("NoNewPrivs") == "1",
              f"Uid={status.get('Uid')} CapEff={status.get('CapEff')} NoNewPrivs={status.get('NoNewPrivs')}")


def run_helm_tests(cluster: Cluster) -> None:
    for pod_spec in cluster.rendered.of_kind("Pod"):
        if pod_spec["metadata"].get("annotations", {}).get("helm.sh/hook") == "test":
            code = cluster.run_test_pod(pod_spec)
            check(f"helm test pod {pod_spec['metadata']['name']} exits 0", code == 0, f"exit {code}")


def check_dashboard(web: str) -> None:
    response = requests.get(f"{web}/", timeout=10, allow_redirects=True)
    login = requests.get(f"{web}/login", timeout=10)
    check(f"the dashboard answers at the web Service address {web} (GET / -> {response.status_code} {response.url.removeprefix(web)}, /login has a form)",
          response.status_code == 200 and login.status_code == 200 and "<form" in login.text and "password" in login.text,
          f"/ {response.status_code}, /login {login.status_code}")


def recreate_backend(cluster: Cluster, front: Client, account: tuple) -> None:
    email, password, token, digest = account
    for pod in cluster.live_pods("todo-api"):
        pod.delete(graceful=False)
    check("the backend pods are gone (docker rm -f)", not any(pod.running() for pod in cluster.live_pods("todo-api")))
    replicas = next(d["spec"].get("replicas", 1) for d in cluster.workload("Deployment") if d["metadata"]["name"] == "todo-api")
    pods = [cluster.new_pod("todo-api") for _ in range(replicas)]
    check("new backend pods are ready", all([pod.wait_ready(60) for pod in pods]), "; ".join(pod.failure for pod in pods))
    verify_account(front, email, password, token, digest, "after deleting and recreating the backend pods")


def recreate_database(cluster: Cluster, front: Client, account: tuple) -> None:
    """The StatefulSet's pod deleted and recreated: its volumeClaimTemplate volume stays."""
    for statefulset in cluster.workload("StatefulSet"):
        name = statefulset["metadata"]["name"]
        old = cluster.live_pods(name)[0]
        check(f"{old.name} exits 0 on SIGTERM (a fast shutdown)", old.delete() == 0)
        new = cluster.new_pod(name, ordinal=0)
        ready = new.wait_ready(60)
        check(f"{new.name} recreated on its volume (no initdb) is ready", ready, new.failure)
        log("  " + new.readiness_figures())
        backend_ready = all([pod.wait_ready(30) for pod in cluster.live_pods("todo-api")])
        check("the backend pods are ready again", backend_ready)
        verify_account(front, *account, f"after deleting and recreating {new.name}")


@dataclass
class StreamResult:
    sent: int = 0
    ok: int = 0
    refused: int = 0
    failed: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    first_refusal: float = 0
    last_refusal: float = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: requests.Response | None, error: str = "", task: bool = False) -> None:
        with self.lock:
            self.sent += 1
            if response is not None and response.status_code in (200, 201):
                self.ok += 1
                if task:
                    self.created.append(response.json()["id"])
            else:
                self.failed.append(error or f"{response.status_code} {response.text[:150]}")

    def refusal(self) -> None:
        with self.lock:
            self.refused += 1
            self.first_refusal = self.first_refusal or time.monotonic()
            self.last_refusal = time.monotonic()


def request_stream(api: str, token: str, stop: threading.Event, result: StreamResult, retry_refused: bool, worker: int) -> None:
    """POST a task, GET the list, repeat; a new connection each time (Connection: close)."""
    headers = auth(token) | {"Connection": "close"}
    for number in itertools.count():
        if stop.is_set():
            return
        create = number % 2 == 0
        while True:
            try:
                if create:
                    response = requests.post(f"{api}/api/me/tasks", json={"title": f"stream {worker}-{number}"}, headers=headers, timeout=15)
                else:
                    response = requests.get(f"{api}/api/me/tasks", params={"limit": 5}, headers=headers, timeout=15)
            except requests.RequestException as error:
                if refused(error):
                    result.refusal()
                    if retry_refused and not stop.is_set():
                        time.sleep(0.05)
                        continue
                result.record(None, f"{'POST' if create else 'GET'}: {error}"[:200])
                break
            result.record(response, task=create)
            break
        time.sleep(0.01)


def refused(error: BaseException) -> bool:
    while error is not None:
        if isinstance(error, ConnectionRefusedError):
            return True
        error = error.__cause__ or error.__context__ or (error.args[0] if error.args and isinstance(error.args[0], BaseException) else None)
    return False


def all_task_ids(api: str, token: str) -> set[str]:
    ids, cursor = set(), None
    while True:
        params = {"limit": 200, "sort": "created"} | ({"cursor": cursor} if cursor else {})
        page = requests.get(f"{api}/api/me/tasks", params=params, headers=auth(token), timeout=30).json()
        ids |= {item["id"] for item in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


def rollout_backend(cluster: Cluster, api: str) -> None:
    deployment = next(d for d in cluster.workload("Deployment") if d["metadata"]["name"] == "todo-api")
    strategy = deployment["spec"].get("strategy", {}).get("type", "RollingUpdate")
    response = Client(api).signup(f"stream-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery staple")
    token = response.json()["token"]
    result, stop = StreamResult(), threading.Event()
    workers = [threading.Thread(target=request_stream, args=(api, token, stop, result, strategy == "Recreate", worker), daemon=True)
               for worker in range(STREAM_THREADS)]
    for worker in workers:
        worker.start()
    time.sleep(1)
    old_pods = cluster.live_pods("todo-api")
    exit_codes, new_pods = [], []
    start = time.monotonic()
    if strategy == "RollingUpdate":
        rolling = deployment["spec"]["strategy"].get("rollingUpdate", {})
        check("the backend's rollingUpdate is maxSurge 1, maxUnavailable 0", (rolling.get("maxSurge"), rolling.get("maxUnavailable")) == (1, 0), str(rolling))
        stops = []
        for old in old_pods:
            new = cluster.new_pod("todo-api")
            new_pods.append(new)
            if not new.wait_ready(60):
                break
            time.sleep(0.5)     # both serve for a moment
            stopper = threading.Thread(target=lambda pod=old: exit_codes.append(pod.delete()))
            stopper.start()
            stops.append(stopper)
        for stopper in stops:
            stopper.join(120)
    else:
        for old in old_pods:
            exit_codes.append(old.delete())
        new_pods = [cluster.new_pod("todo-api") for _ in old_pods]
        for new in new_pods:
            new.wait_ready(60)
    replaced = time.monotonic() - start
    time.sleep(1)
    stop.set()
    for worker in workers:
        worker.join(30)
    stored = all_task_ids(api, token)
    lost = [task_id for task_id in result.created if task_id not in stored]
    log(f"rollout ({strategy}) of {len(old_pods)} backend pod(s): {replaced:.1f} s; requests sent {result.sent}, "
        f"succeeded {result.ok}, failed {len(result.failed)}, refused before reaching a pod {result.refused}"
        + (f" (over {result.last_refusal - result.first_refusal:.1f} s)" if result.refused else "")
        + f"; creates acknowledged {len(result.created)}, lost {len(lost)}")
    service = services().listener("todo-api")
    log(f"  connections through the backend Service, per pod: {', '.join(f'{pod.name} {service.served.get(pod.port, 0)}' for pod in old_pods + new_pods)}"
        f"; reset by the proxy (endpoint gone): {service.resets}")
    for pod in new_pods:
        log("  " + pod.readiness_figures())
    check(f"the old backend pods exit 0 on SIGTERM within the grace period ({exit_codes})", exit_codes == [0] * len(old_pods))
    check(f"the new backend pods are ready ({len(new_pods)})", len(new_pods) == len(old_pods) and all(pod.ready for pod in new_pods))
    check(f"{result.sent} requests during the {strategy} rollout, none failed", result.sent > 100 and not result.failed, "; ".join(result.failed[:5]))
    if strategy == "RollingUpdate":
        check("no request refused (there was a ready backend at every moment)", result.refused == 0, str(result.refused))
    check(f"every acknowledged create is stored ({len(result.created)})", bool(result.created) and not lost, f"lost {lost[:5]}")


def check_probes_stayed_healthy(cluster: Cluster) -> None:
    failing = [pod.name for pod in cluster.pods if pod.liveness_failures]
    check("no liveness probe failure streak in any pod", not failing, str(failing))


def acceptance(cluster: Cluster) -> None:
    web, api = "http://127.0.0.1:3000", "http://127.0.0.1:8000"
    with Step("hardening as rendered"):
        check_translation(cluster)
    with Step("helm test pods"):
        run_helm_tests(cluster)
    with Step("dashboard, sign-up, tasks, the assistant through the MCP server"):
        check_dashboard(web)
        front = Client(web)
        account = seed_account(front, f"rr-{cluster.mode}")
        response = Client(api).tasks(account[2])
        titles = [item["title"] for item in response.json().get("items", [])] if response.status_code == 200 else []
        check("the assistant's task is visible through the backend Service", "call the plumber" in titles, str(titles))
    with Step("delete and recreate the backend pods"):
        recreate_backend(cluster, front, account)
    if cluster.workload("StatefulSet"):
        with Step("delete and recreate the PostgreSQL pod"):
            recreate_database(cluster, front, account)
    with Step("rollout of the backend under a steady stream of requests"):
        rollout_backend(cluster, api)
    verify_account(front, *account, "after the rollout")
    check_dashboard(web)
    check_probes_stayed_healthy(cluster)
