"""The cluster emulator: the translated pods started with Docker, probed as the kubelet
probes them, Jobs run to completion, and the Services proxied on 127.0.0.1 as kube-proxy does.

- Network: on a cluster each pod has its own address; here every pod shares the host's, so each
  pod gets its own free port on 127.0.0.1 (translate.py puts it in the pod's port variable,
  and its probes target it). Every rendered Service name (short and `.ns`, `.ns.svc`,
  `.ns.svc.cluster.local`) resolves to 127.0.0.1 (--add-host), where a small Service proxy
  (this process, like kube-proxy; a headless Service the same way) listens on the Service's
  port and forwards each connection to one ready endpoint, round robin (sessionAffinity
  ClientIP: a client address keeps its endpoint while it stays ready). With no ready endpoint
  it does not listen, so a client is refused (ECONNREFUSED, like kube-proxy's REJECT) and
  knows its request never reached a pod. Connections already queued when the last endpoint
  goes are forwarded to it (it is still draining), not reset.
- The kubelet: a pod starts when `docker run` is called; the startupProbe runs every
  periodSeconds (after initialDelaySeconds) until it passes (failureThreshold failures fail
  the pod), then the readinessProbe runs at once and every periodSeconds (ready after
  successThreshold passes, unready after failureThreshold failures), and the livenessProbe
  every periodSeconds (a failure streak is recorded and fails a check; no restart). A pod
  being deleted leaves its Services at once (the endpoints controller), then gets SIGTERM
  and terminationGracePeriodSeconds (`docker stop --time`). Times printed per pod: start to
  ready by the rendered probes, and start to the first passing readiness probe when polled
  every 100 ms (what the process itself takes).
- Volumes: a PVC or volumeClaimTemplate is a named Docker volume, created with the fsGroup
  ownership the kubelet would apply; it outlives its containers.
- Everything it starts is named todo-rr-* (containers and volumes, labelled todo-rr);
  cleanup() removes it all.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import stat
import struct
import subprocess
import threading
import time

import requests

from compose_e2e import inspect, run

from .translate import LABEL, PREFIX, Container, PodTemplate, Probe, Rendered, SpecError, require_known, translate_pod


# ---------------------------------------------------------------------------------------------
# Pods and the kubelet's probes

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_volume(name: str, fs_group: int | None) -> None:
    """A named volume with the ownership the kubelet gives a volume of a pod with fsGroup
    (fsGroupChangePolicy OnRootMismatch: only when the root's group differs)."""
    if run(["docker", "volume", "ls", "--quiet", "--filter", f"name=^{name}$"]).stdout.strip():
        return
    run(["docker", "volume", "create", "--label", f"{LABEL}=1", name])
    if fs_group is None:
        return
    root = run(["docker", "volume", "inspect", "--format", "{{.Mountpoint}}", name]).stdout.strip()
    if os.stat(root).st_gid != fs_group:
        os.chown(root, -1, fs_group)
        os.chmod(root, stat.S_IMODE(os.stat(root).st_mode) | stat.S_ISGID | stat.S_IRWXG)


class Pod:
    """One pod: its container, its port, and a thread that probes it like the kubelet."""

    def __init__(self, name: str, template: PodTemplate, kubelet: bool = True):
        self.name = name
        self.template = template
        self.container = template.containers[0]
        self.docker_name = f"{PREFIX}-{name}"
        self.port = free_port() if self.container.container_port else None
        self.ready = False
        self.terminating = False
        self.failure = ""
        self.liveness_failures = 0
        self.times: dict[str, float] = {}
        self.stopped = threading.Event()
        self.kubelet = kubelet

    @property
    def labels(self) -> dict[str, str]:
        return self.template.labels

    def target_port(self, name_or_number: int | str) -> int | None:
        number = name_or_number if isinstance(name_or_number, int) else self.container.port_names.get(name_or_number)
        return self.port if number is not None and number == self.container.container_port else None

    def start(self) -> None:
        for volume, fs_group in self.template.volumes.values():
            ensure_volume(volume, fs_group)
        self.times["start"] = time.monotonic()
        for index, init in enumerate(self.template.init_containers):
            exit_code = run_to_completion(init, f"{self.docker_name}-init-{index}", self.labels, 120)
            if exit_code != 0:
                self.failure = f"init container {init.name} exited {exit_code}"
                return
        docker_run(*self.container.docker_run(self.docker_name, self.port, self.labels))
        if self.kubelet:
            threading.Thread(target=self._kubelet, daemon=True).start()
            threading.Thread(target=self._first_answer, daemon=True).start()

    def probe(self, probe: Probe, timeout: float | None = None) -> bool:
        timeout = timeout or probe.timeout
        try:
            if probe.kind == "http":
                status = requests.get(f"http://127.0.0.1:{self.port}{probe.target}", timeout=timeout).status_code
                return 200 <= status < 400
            if probe.kind == "tcp":
                with socket.create_connection(("127.0.0.1", self.port), timeout=timeout):
                    return True
            command = self.container.exec_probe_command(probe, self.port)
            return subprocess.run(["docker", "exec", self.docker_name, *command], capture_output=True, timeout=timeout + 2).returncode == 0
        except (requests.RequestException, OSError, subprocess.TimeoutExpired):
            return False

    def _wait(self, seconds: float) -> bool:
        """Sleeps; False once the pod is being deleted."""
        return not self.stopped.wait(max(0.0, seconds))

    def _kubelet(self) -> None:
        probes = self.container.probes
        startup, readiness, liveness = probes.get("startupProbe"), probes.get("readinessProbe"), probes.get("livenessProbe")
        if startup:
            failures = 0
            if not self._wait(startup.initial_delay):
                return
            while not self.probe(startup):
                failures += 1
                if failures >= startup.failure_threshold:
                    self.failure = f"startup probe failed {failures} times"
                    return
                if not self._wait(startup.period):
                    return
        if readiness is None:
            self._set_ready(True)
            return
        successes = failures = live_failures = 0
        next_live = time.monotonic() + (liveness.period if liveness else 1e9)
        while not self.stopped.is_set():
            if self.probe(readiness):
                successes, failures = successes + 1, 0
                if successes >= readiness.success_threshold:
                    self._set_ready(True)
            else:
                successes, failures = 0, failures + 1
                if failures >= readiness.failure_threshold:
                    self._set_ready(False)
            if liveness and time.monotonic() >= next_live:
                live_failures = 0 if self.probe(liveness) else live_failures + 1
                if live_failures >= liveness.failure_threshold:
                    self.liveness_failures += 1
                next_live += liveness.period
            if not self._wait(readiness.period):
                return

    def _set_ready(self, ready: bool) -> None:
        if ready and "ready" not in self.times:
            self.times["ready"] = time.monotonic()
        self.ready = ready

    def _first_answer(self) -> None:
        """Only for the printed figures: when the readiness probe would first have passed."""
        readiness = self.container.probes.get("readinessProbe")
        deadline = time.monotonic() + 120
        while readiness and time.monotonic() < deadline and "answered" not in self.times and self._wait(0.1):
            if self.probe(readiness, timeout=1):
                self.times["answered"] = time.monotonic()

    def wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.ready and not self.failure:
            if not self.running():
                self.failure = f"container exited {inspect(self.docker_name)['State']['ExitCode']}"
                break
            time.sleep(0.05)
        if self.ready:
            # As when Kubernetes has published the endpoint: a request sent next must not find
            # the Service still without it (the watch would add it within 20 ms).
            SERVICES.sync()
        return self.ready

    def running(self) -> bool:
        result = run(["docker", "inspect", "--format", "{{.State.Running}}", self.docker_name], check_status=False)
        return result.stdout.strip() == "true"

    def readiness_figures(self) -> str:
        start = self.times.get("start", 0)
        ms = lambda key: f"{(self.times[key] - start) * 1000:.0f} ms" if key in self.times else "never"  # noqa: E731
        return f"{self.name:<24} ready by its probes {ms('ready'):>9}   readiness probe first passes {ms('answered'):>8}"

    def delete(self, graceful: bool = True) -> int | None:
        """Leaves the Services at once, then SIGTERM and the grace period (or SIGKILL)."""
        self.terminating = True
        self.ready = False
        self.stopped.set()
        SERVICES.sync()
        if graceful:
            run(["docker", "stop", "--time", str(self.template.grace_seconds), self.docker_name], check_status=False)
            code = inspect(self.docker_name)["State"]["ExitCode"]
        else:
            code = None
        run(["docker", "rm", "--force", self.docker_name], check_status=False)
        return code


def docker_run(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(argv, env=os.environ | env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"docker run {argv[argv.index('--name') + 1]} exited {result.returncode}: {result.stderr.strip()}")


def run_to_completion(container: Container, name: str, labels: dict[str, str], timeout: float) -> int:
    docker_run(*container.docker_run(name, None, labels))
    try:
        result = subprocess.run(["docker", "wait", name], capture_output=True, text=True, timeout=timeout)
        return int(result.stdout.strip() or 1)
    except subprocess.TimeoutExpired:
        run(["docker", "kill", name], check_status=False)
        return 124


# ---------------------------------------------------------------------------------------------
# Services: a kube-proxy on 127.0.0.1

class Listener:
    """One Service port: listens only while the Service has ready endpoints. With
    `affinity_seconds` (sessionAffinity: ClientIP) a client address keeps its endpoint while that
    stays ready and the client came back within the timeout, as kube-proxy does."""

    def __init__(self, service: str, port: int, target: int | str, selector: dict[str, str],
                 affinity_seconds: float | None = None):
        self.service, self.port, self.target, self.selector = service, port, target, selector
        self.affinity_seconds = affinity_seconds
        self.affinity: dict[str, tuple[int, float]] = {}   # client address -> (endpoint, last used)
        self.socket: socket.socket | None = None
        self.endpoints: list[int] = []
        self.counter = itertools.count()
        self.served: dict[int, int] = {}
        self.resets = 0
        self.connections: set[asyncio.Task] = set()   # the loop keeps only weak references

    def _spawn(self, connection: socket.socket, endpoints: list[int]) -> None:
        task = asyncio.get_running_loop().create_task(self._forward(connection, endpoints))
        self.connections.add(task)
        task.add_done_callback(self.connections.discard)

    def ready_endpoints(self, pods: list[Pod]) -> list[int]:
        matching = [pod for pod in pods if all(pod.labels.get(key) == value for key, value in self.selector.items())]
        return [port for pod in matching if pod.ready and not pod.terminating and (port := pod.target_port(self.target))]

    async def reconcile(self, pods: list[Pod]) -> None:
        previous, self.endpoints = self.endpoints, self.ready_endpoints(pods)
        if self.endpoints and self.socket is None:
            self.socket = socket.create_server(("127.0.0.1", self.port), backlog=128)
            self.socket.setblocking(False)
            asyncio.get_running_loop().add_reader(self.socket.fileno(), lambda: self._accept_queued(self.endpoints))
        elif not self.endpoints and self.socket is not None:
            # Connections the kernel queued while an endpoint was still there go to it (it is
            # draining and still serves); then new ones are refused.
            self._stop_listening(previous)

    def _accept_queued(self, endpoints: list[int]) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            self._spawn(connection, endpoints)

    def _stop_listening(self, endpoints: list[int]) -> None:
        asyncio.get_running_loop().remove_reader(self.socket.fileno())
        self._accept_queued(endpoints)
        self.socket.close()
        self.socket = None

    async def close(self) -> None:
        """The Service is deleted: no listener, no connection left."""
        if self.socket is not None:
            self._stop_listening([])
        for task in list(self.connections):
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)

    def _choose(self, client: str, endpoints: list[int]) -> int | None:
        if not endpoints:
            return None
        now = time.monotonic()
        kept = self.affinity.get(client) if self.affinity_seconds is not None else None
        if kept and kept[0] in endpoints and now - kept[1] < self.affinity_seconds:
            port = kept[0]
        else:
            port = endpoints[next(self.counter) % len(endpoints)]
        if self.affinity_seconds is not None:
            self.affinity[client] = (port, now)
        return port

    async def _forward(self, connection: socket.socket, endpoints: list[int]) -> None:
        connection.setblocking(False)
        port = self._choose(connection.getpeername()[0], endpoints)
        try:
            if port is None:
                raise ConnectionRefusedError
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            # The endpoint went away between two probes: a reset, as kube-proxy's DNAT would give.
            self.resets += 1
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()
            return
        client_reader, client_writer = await asyncio.open_connection(sock=connection)
        self.served[port] = self.served.get(port, 0) + 1
        await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer), return_exceptions=True)
        for writer in (client_writer, upstream_writer):
            writer.close()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except Exception:  # a reset or a closed peer ends this direction
        writer.transport.abort()


class ServiceProxy:
    """Every rendered Service, proxied on 127.0.0.1 from one event loop thread."""

    def __init__(self):
        self.pods: list[Pod] = []
        self.listeners: list[Listener] = []
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.watch = asyncio.run_coroutine_threadsafe(self._watch(), self.loop)

    def configure(self, rendered: Rendered) -> None:
        listeners = []
        for service in rendered.of_kind("Service"):
            spec = service["spec"]
            if spec.get("type", "ClusterIP") not in ("ClusterIP", "NodePort", "LoadBalancer") or \
                    spec.get("sessionAffinity", "None") not in ("None", "ClientIP"):
                raise SpecError(f"Service {service['metadata']['name']}: type/sessionAffinity not modelled")
            affinity = None
            if spec.get("sessionAffinity") == "ClientIP":
                affinity = float(spec.get("sessionAffinityConfig", {}).get("clientIP", {}).get("timeoutSeconds", 10800))
            for port in spec["ports"]:
                listeners.append(Listener(service["metadata"]["name"], port["port"], port.get("targetPort", port["port"]),
                                          spec["selector"], affinity))
        self.pods, self.listeners = [], listeners

    def add(self, pod: Pod) -> None:
        self.pods.append(pod)

    def sync(self) -> None:
        """Applies the pods' state now (the watch does it every 20 ms anyway)."""
        asyncio.run_coroutine_threadsafe(self._reconcile(), self.loop).result(timeout=10)

    async def _reconcile(self) -> None:
        for listener in self.listeners:
            await listener.reconcile(list(self.pods))

    async def _watch(self) -> None:
        while True:
            try:
                await self._reconcile()
            except OSError as error:   # a Service port taken meanwhile: say so, keep watching
                log(f"service proxy: {error}")
                await asyncio.sleep(1)
            await asyncio.sleep(0.02)

    def listener(self, service: str) -> Listener:
        return next(listener for listener in self.listeners if listener.service == service)

    def reset(self) -> None:
        self.pods = []
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(timeout=10)

    async def _close(self) -> None:
        listeners, self.listeners = self.listeners, []
        for listener in listeners:
            await listener.close()


SERVICES: ServiceProxy | None = None  # created by start_service_proxy() in main(), not on import: --dry-run starts none


def start_service_proxy() -> None:
    global SERVICES
    SERVICES = ServiceProxy()


def services() -> ServiceProxy:
    """The running proxy. The other modules call this: importing SERVICES itself would copy the
    name before main() has created the proxy."""
    return SERVICES


# ---------------------------------------------------------------------------------------------
# The cluster, one mode at a time

class Cluster:
    def __init__(self, mode: str, rendered: Rendered):
        self.mode = mode
        self.rendered = rendered
        self.pods: list[Pod] = []
        self.names = itertools.count(1)
        self.hosts = [flag for host in rendered.service_hosts() for flag in ("--add-host", f"{host}:127.0.0.1")]
        self.templates: dict[str, PodTemplate] = {}
        for kind in ("StatefulSet", "Deployment"):
            for workload in rendered.of_kind(kind):
                name = workload["metadata"]["name"]
                claims = {claim["metadata"]["name"]: f"{PREFIX}-{claim['metadata']['name']}-{name}-0"
                          for claim in workload["spec"].get("volumeClaimTemplates") or []}
                if kind == "StatefulSet" and workload["spec"].get("replicas", 1) != 1:
                    raise SpecError(f"StatefulSet {name}: only one replica is modelled")
                self.templates[name] = self._with_hosts(translate_pod(f"{kind}/{name}", workload["spec"]["template"], rendered, claims))

    def _with_hosts(self, template: PodTemplate) -> PodTemplate:
        for container in template.containers + template.init_containers:
            container.flags = self.hosts + container.flags
        return template

    def workload(self, kind: str) -> list[dict]:
        return self.rendered.of_kind(kind)

    def new_pod(self, workload: str, ordinal: int | None = None) -> Pod:
        name = f"{workload}-{ordinal}" if ordinal is not None else f"{workload}-{next(self.names)}"
        pod = Pod(name, self.templates[workload])
        self.pods.append(pod)
        SERVICES.add(pod)
        pod.start()
        return pod

    def live_pods(self, workload: str) -> list[Pod]:
        return [pod for pod in self.pods if pod.template is self.templates[workload] and not pod.terminating]

    def run_job(self, job: dict) -> tuple[int, float]:
        """A Job: one pod at a time until one exits 0, at most backoffLimit retries."""
        spec = job["spec"]
        require_known(f"Job {job['metadata']['name']}", spec, {"backoffLimit", "activeDeadlineSeconds", "template", "ttlSecondsAfterFinished"})
        template = self._with_hosts(translate_pod(f"Job/{job['metadata']['name']}", spec["template"], self.rendered, {}))
        deadline = time.monotonic() + min(int(spec.get("activeDeadlineSeconds", 600)), 120)
        start = time.monotonic()
        for attempt in range(int(spec.get("backoffLimit", 6)) + 1):
            pod = Pod(f"{job['metadata']['name']}-{attempt}", template, kubelet=False)
            for volume, fs_group in template.volumes.values():
                ensure_volume(volume, fs_group)
            code = run_to_completion(pod.container, pod.docker_name, template.labels, max(1.0, deadline - time.monotonic()))
            if code == 0 or time.monotonic() >= deadline:
                return code, time.monotonic() - start
            log(f"  {pod.name} exited {code}; retrying")
            print_logs([pod.docker_name])
        return code, time.monotonic() - start

    def run_test_pod(self, pod_spec: dict) -> int:
        template = self._with_hosts(translate_pod(f"Pod/{pod_spec['metadata']['name']}", pod_spec, self.rendered, {}))
        for volume, fs_group in template.volumes.values():
            ensure_volume(volume, fs_group)
        return run_to_completion(template.containers[0], f"{PREFIX}-{pod_spec['metadata']['name']}", template.labels, 60)


# ---------------------------------------------------------------------------------------------
# Output, the host's ports, clean-up

def log(message: str) -> None:
    print(message, flush=True)


def print_logs(names: list[str]) -> None:
    for name in names:
        logs = run(["docker", "logs", "--tail", "25", name], check_status=False)
        log(f"--- logs of {name}")
        log((logs.stdout + logs.stderr).rstrip())


def cleanup() -> None:
    containers = run(["docker", "ps", "--all", "--quiet", "--filter", f"label={LABEL}"], check_status=False).stdout.split()
    if containers:
        run(["docker", "rm", "--force", *containers], check_status=False)
    volumes = run(["docker", "volume", "ls", "--quiet", "--filter", f"label={LABEL}"], check_status=False).stdout.split()
    if volumes:
        run(["docker", "volume", "rm", "--force", *volumes], check_status=False)


def service_ports_free(rendered: Rendered) -> list[str]:
    taken = []
    for service in rendered.of_kind("Service"):
        for port in service["spec"]["ports"]:
            try:
                socket.create_server(("127.0.0.1", port["port"])).close()
            except OSError:
                listener = run(["ss", "-ltnpH", f"sport = :{port['port']}"], check_status=False).stdout.strip() if shutil.which("ss") else ""
                taken.append(f"{port['port']} ({service['metadata']['name']}): {listener or 'in use'}")
    return taken
