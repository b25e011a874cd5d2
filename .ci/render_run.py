#!/usr/bin/env python3
"""Render-and-run test of the Helm chart: the rendered pods, started with Docker.

usage: render_run.py [--image todo:ci] [--mode postgres|sqlite|both] [--dry-run]
       (--dry-run prints the docker run command of every rendered pod and starts nothing)

No Kubernetes cluster can run on the CI machine, so this does what the cluster would do with
the chart's output: `helm template` (release todo, namespace todo, the image under test, a
generated AUTH_SECRET) for database.mode=postgres (values.yaml as it is) and
database.mode=sqlite, then every rendered StatefulSet, hook Job, Deployment and `helm test`
Pod is started with `docker run --network host --pull never` using exactly its rendered
image, command/args, environment (ConfigMap and Secret references resolved from the rendered
objects, `envFrom` first, `env` over it), user and groups (runAsUser/runAsGroup, fsGroup and
supplementalGroups as --group-add), read-only root filesystem, capabilities,
no-new-privileges, seccomp, CPU and memory limits, and volumes (emptyDir: a tmpfs of its
sizeLimit; PVC and volumeClaimTemplate: a named Docker volume without the image's copy-up,
given the fsGroup ownership the kubelet would apply, so it outlives its containers). A pod
field the translation does not know stops the run, so this test cannot silently drift away
from the chart.

Decisions (see also docs/DEPLOYMENT.md, "Render and run"):
- The one deviation from the rendered spec is the pods' network: on a cluster each pod has
  its own address; here every pod shares the host's, so each pod gets its own free port on
  127.0.0.1 by overriding only its port variable (PORT for todo, PGPORT for postgres; HOST
  for todo and POSTGRES_LISTEN_ADDRESSES for postgres become 127.0.0.1 so nothing listens
  beyond loopback), and its probes target that port (the port named in an exec probe's
  `-p` too). Every rendered Service name (short and `.ns`, `.ns.svc`, `.ns.svc.cluster.local`)
  resolves to 127.0.0.1 (--add-host), where a small Service proxy (this process, like
  kube-proxy; a headless Service the same way) listens on the Service's port and forwards
  each connection to one ready endpoint, round robin (sessionAffinity ClientIP: a client
  address keeps its endpoint while it stays ready). With no ready endpoint it does not
  listen, so a client is refused (ECONNREFUSED, like kube-proxy's REJECT) and knows its
  request never reached a pod. Connections already queued when the last endpoint goes are
  forwarded to it (it is still draining), not reset.
- The kubelet: a pod starts when `docker run` is called; the startupProbe runs every
  periodSeconds (after initialDelaySeconds) until it passes (failureThreshold failures fail
  the pod), then the readinessProbe runs at once and every periodSeconds (ready after
  successThreshold passes, unready after failureThreshold failures), and the livenessProbe
  every periodSeconds (a failure streak is recorded and fails a check; no restart). A pod
  being deleted leaves its Services at once (the endpoints controller), then gets SIGTERM
  and terminationGracePeriodSeconds (`docker stop --time`). Times printed per pod: start to
  ready by the rendered probes, and start to the first passing readiness probe when polled
  every 100 ms (what the process itself takes).
- Order: PostgreSQL StatefulSet, wait ready; the migration Job (a pre-upgrade hook in this
  mode, run here as an upgrade would: against the running database; it must exit 0 within
  its backoffLimit and activeDeadlineSeconds); the Deployments with their rendered replica
  counts (HPA, PDB, Ingress, NetworkPolicies and scheduling fields have no Docker meaning);
  then the `helm test` pods, which must exit 0.
- Rollout: the Deployment's rendered strategy. RollingUpdate (maxSurge 1, maxUnavailable 0):
  per old pod, start a new one, wait until ready, then delete the old one; the stream of
  requests (4 threads, POST create + GET list, a new connection per request, through the
  backend Service) must see no failed and no refused request. Recreate (SQLite: one writer on
  a ReadWriteOnce volume): delete the old pod, then start the new one; requests are refused
  during the gap (counted, printed, retried by the client, which may: they never reached a
  pod) and none may fail after reaching a pod. Both: every acknowledged create is stored.

Prints one `ok N - ...` / `not ok N - ...` line per check (the caller counts them), each
step's duration, the pods' start-to-ready times, and the logs of the pods when a check
fails. Everything it starts is named todo-rr-* (containers and volumes, labelled todo-rr)
and removed at the end, after a failure too. Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import os
import secrets
import shutil
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compose_e2e import CHECKS, Client, Step, auth, check, host_process_status, inspect, run, seed_account, verify_account  # noqa: E402

CHART = "helm/todo-app"
RELEASE = "todo"
NAMESPACE = "todo"
PREFIX = "todo-rr"
LABEL = "todo-rr"
STREAM_THREADS = 4
MODES = {"postgres": [], "sqlite": ["--set", "database.mode=sqlite"]}

# What the translation understands. Anything else in a pod spec stops the run.
POD_KEYS = {"containers", "initContainers", "volumes", "securityContext", "terminationGracePeriodSeconds",
            "restartPolicy", "automountServiceAccountToken", "enableServiceLinks",
            # Cluster-only: no meaning on one Docker host with no API server.
            "serviceAccountName", "affinity", "nodeSelector", "tolerations", "topologySpreadConstraints", "priorityClassName"}
CONTAINER_KEYS = {"name", "image", "imagePullPolicy", "command", "args", "ports", "env", "envFrom", "startupProbe",
                  "livenessProbe", "readinessProbe", "resources", "securityContext", "volumeMounts"}
POD_SECURITY_KEYS = {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "fsGroupChangePolicy", "seccompProfile", "supplementalGroups"}
CONTAINER_SECURITY_KEYS = {"runAsNonRoot", "runAsUser", "runAsGroup", "privileged", "allowPrivilegeEscalation",
                           "readOnlyRootFilesystem", "capabilities", "seccompProfile"}
PROBE_KEYS = {"httpGet", "exec", "tcpSocket", "periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold", "initialDelaySeconds"}
# The variable each image reads its listening port from, and what makes it listen on loopback only.
PORT_VARIABLES = {"todo": ("PORT", {"HOST": "127.0.0.1"}), "postgres": ("PGPORT", {"POSTGRES_LISTEN_ADDRESSES": "127.0.0.1"})}


class SpecError(Exception):
    """A rendered field this translation does not model: the test must be extended."""


def require_known(where: str, mapping: dict, known: set[str]) -> None:
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise SpecError(f"{where}: field(s) {', '.join(unknown)} not modelled by .ci/render_run.py")


def log(message: str) -> None:
    print(message, flush=True)


# ---------------------------------------------------------------------------------------------
# Rendering

def render(mode: str, image: str) -> list[dict]:
    repository, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
    argv = ["helm", "template", RELEASE, CHART, "--namespace", NAMESPACE, "--values", f"{CHART}/values.yaml",
            "--set", f"image.repository={repository}", "--set-string", f"image.tag={tag}",
            "--set", f"secret.authSecret={secrets.token_hex(32)}", *MODES[mode]]
    return [document for document in yaml.safe_load_all(run(argv).stdout) if document]


class Rendered:
    """The rendered objects, by kind and name."""

    def __init__(self, documents: list[dict]):
        self.objects: dict[tuple[str, str], dict] = {}
        for document in documents:
            self.objects[(document["kind"], document["metadata"]["name"])] = document

    def of_kind(self, kind: str) -> list[dict]:
        return [document for (each, _), document in self.objects.items() if each == kind]

    def data(self, kind: str, name: str, optional: bool) -> dict[str, str] | None:
        document = self.objects.get((kind, name))
        if document is None:
            if optional:
                return None
            raise SpecError(f"{kind} {name} is referenced but not rendered")
        if kind == "ConfigMap":
            return {key: str(value) for key, value in (document.get("data") or {}).items()}
        decoded = {key: base64.b64decode(value).decode() for key, value in (document.get("data") or {}).items()}
        return decoded | {key: str(value) for key, value in (document.get("stringData") or {}).items()}

    def hooks(self, kind: str) -> list[dict]:
        return [document for document in self.of_kind(kind) if "helm.sh/hook" in document["metadata"].get("annotations", {})]

    def service_hosts(self) -> list[str]:
        names = []
        for service in self.of_kind("Service"):
            name = service["metadata"]["name"]
            names += [name, f"{name}.{NAMESPACE}", f"{name}.{NAMESPACE}.svc", f"{name}.{NAMESPACE}.svc.cluster.local"]
        return names


# ---------------------------------------------------------------------------------------------
# Translation of a pod template into `docker run`

def quantity(text: str | int, unit: str) -> float:
    """A Kubernetes quantity: memory in bytes, CPU in cores."""
    text = str(text)
    suffixes = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}
    for suffix, factor in suffixes.items():
        if text.endswith(suffix) and (suffix != "m" or unit == "cpu"):
            return float(text[: -len(suffix)]) * factor
    return float(text)


@dataclass
class Probe:
    kind: str                 # http, exec or tcp
    target: str               # path, or the command joined by NUL
    port: int                 # containerPort (http, tcp)
    period: float
    timeout: float
    failure_threshold: int
    success_threshold: int
    initial_delay: float


def parse_probe(where: str, spec: dict | None, ports: dict[str, int]) -> Probe | None:
    if not spec:
        return None
    require_known(where, spec, PROBE_KEYS)
    timing = dict(period=float(spec.get("periodSeconds", 10)), timeout=float(spec.get("timeoutSeconds", 1)),
                  failure_threshold=int(spec.get("failureThreshold", 3)), success_threshold=int(spec.get("successThreshold", 1)),
                  initial_delay=float(spec.get("initialDelaySeconds", 0)))
    if "httpGet" in spec:
        http = spec["httpGet"]
        require_known(f"{where}.httpGet", http, {"path", "port", "scheme"})
        if http.get("scheme", "HTTP") != "HTTP":
            raise SpecError(f"{where}: only HTTP probes are modelled")
        return Probe("http", http.get("path", "/"), resolve_port(where, http["port"], ports), **timing)
    if "tcpSocket" in spec:
        require_known(f"{where}.tcpSocket", spec["tcpSocket"], {"port"})
        return Probe("tcp", "", resolve_port(where, spec["tcpSocket"]["port"], ports), **timing)
    if "exec" in spec:
        return Probe("exec", "\0".join(spec["exec"]["command"]), 0, **timing)
    raise SpecError(f"{where}: a probe without httpGet, tcpSocket or exec")


def resolve_port(where: str, port: int | str, ports: dict[str, int]) -> int:
    if isinstance(port, int):
        return port
    if port not in ports:
        raise SpecError(f"{where}: no container port named {port}")
    return ports[port]


@dataclass
class Container:
    """One rendered container, translated: everything but the pod's own port."""
    name: str
    image: str
    flags: list[str]                     # docker run flags that do not depend on the port
    env: dict[str, str]                  # the resolved environment, in order
    entrypoint: str | None
    args: list[str]
    container_port: int | None = None
    port_names: dict[str, int] = field(default_factory=dict)
    probes: dict[str, Probe | None] = field(default_factory=dict)

    def port_variable(self) -> tuple[str, dict[str, str]]:
        family = self.image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
        if family not in PORT_VARIABLES:
            raise SpecError(f"container {self.name}: no known port variable for image {self.image}")
        return PORT_VARIABLES[family]

    def docker_run(self, container_name: str, port: int | None, labels: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """The argv and the client environment (values pass through it, so no secret shows in argv)."""
        env = dict(self.env)
        if port is not None:
            variable, loopback = self.port_variable()
            env[variable] = str(port)
            env.update(loopback)
        argv = ["docker", "run", "--detach", "--name", container_name, "--network", "host", "--pull", "never",
                "--label", f"{LABEL}=1", *itertools.chain.from_iterable(["--label", f"{key}={value}"] for key, value in labels.items()),
                *self.flags]
        for name in env:
            argv += ["--env", name]
        if self.entrypoint is not None:
            argv += ["--entrypoint", self.entrypoint]
        argv += [self.image, *self.args]
        return argv, env

    def exec_probe_command(self, probe: Probe, port: int | None) -> list[str]:
        """An exec probe's command, with `-p <containerPort>` pointed at the pod's own port."""
        command = probe.target.split("\0")
        for index, word in enumerate(command[:-1]):
            if word in ("-p", "--port") and command[index + 1] == str(self.container_port) and port is not None:
                command[index + 1] = str(port)
        return command


def translate_container(where: str, spec: dict, pod_security: dict, volumes: dict[str, list[str]], rendered: Rendered) -> Container:
    require_known(where, spec, CONTAINER_KEYS)
    if spec.get("imagePullPolicy", "IfNotPresent") not in ("IfNotPresent", "Never"):
        raise SpecError(f"{where}: imagePullPolicy {spec['imagePullPolicy']} cannot be honoured offline")
    ports = spec.get("ports") or []
    if len(ports) > 1 or any(set(port) - {"name", "containerPort", "protocol"} or port.get("protocol", "TCP") != "TCP" for port in ports):
        raise SpecError(f"{where}: only one TCP containerPort (no hostPort) is modelled")
    port_names = {port["name"]: port["containerPort"] for port in ports if "name" in port}
    command, args = spec.get("command") or [], spec.get("args") or []
    for word in command + args:
        if "$(" in word:
            raise SpecError(f"{where}: $(VAR) expansion in command/args is not modelled")
    flags = security_flags(where, pod_security, spec.get("securityContext") or {}, spec["image"])
    flags += resource_flags(where, spec.get("resources") or {})
    for mount in spec.get("volumeMounts") or []:
        require_known(f"{where}.volumeMounts", mount, {"name", "mountPath", "readOnly"})
        if mount["name"] not in volumes:
            raise SpecError(f"{where}: volume {mount['name']} is not declared")
        flags += mount_flags(volumes[mount["name"]], mount["mountPath"], bool(mount.get("readOnly")))
    container = Container(spec["name"], spec["image"], flags, resolve_env(where, spec, rendered),
                          command[0] if command else None, command[1:] + args,
                          ports[0]["containerPort"] if ports else None, port_names)
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        container.probes[kind] = parse_probe(f"{where}.{kind}", spec.get(kind), port_names)
    return container


def resolve_env(where: str, spec: dict, rendered: Rendered) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in spec.get("envFrom") or []:
        require_known(f"{where}.envFrom", source, {"configMapRef", "secretRef", "prefix"})
        kind, reference = ("ConfigMap", source["configMapRef"]) if "configMapRef" in source else ("Secret", source["secretRef"])
        data = rendered.data(kind, reference["name"], bool(reference.get("optional")))
        env.update({source.get("prefix", "") + key: value for key, value in (data or {}).items()})
    for variable in spec.get("env") or []:
        require_known(f"{where}.env", variable, {"name", "value", "valueFrom"})
        if "valueFrom" not in variable:
            value = str(variable.get("value", ""))
            if "$(" in value:
                raise SpecError(f"{where}: $(VAR) expansion in env is not modelled")
            env[variable["name"]] = value
            continue
        source = variable["valueFrom"]
        require_known(f"{where}.env.valueFrom", source, {"configMapKeyRef", "secretKeyRef"})
        kind, reference = ("ConfigMap", source["configMapKeyRef"]) if "configMapKeyRef" in source else ("Secret", source["secretKeyRef"])
        optional = bool(reference.get("optional"))
        data = rendered.data(kind, reference["name"], optional) or {}
        if reference["key"] in data:
            env[variable["name"]] = data[reference["key"]]
        elif not optional:
            raise SpecError(f"{where}: {kind} {reference['name']} has no key {reference['key']}")
    return env


def security_flags(where: str, pod: dict, container: dict, image: str) -> list[str]:
    require_known(f"{where}.securityContext", container, CONTAINER_SECURITY_KEYS)
    merged = pod | container
    user, group = merged.get("runAsUser"), merged.get("runAsGroup")
    if merged.get("runAsNonRoot"):
        image_user = user if user is not None else run(["docker", "image", "inspect", "--format", "{{.Config.User}}", image]).stdout.strip().split(":")[0]
        if str(image_user) in ("", "0", "root"):
            raise SpecError(f"{where}: runAsNonRoot, but the user would be root ({image_user!r})")
    flags = []
    if user is not None:
        flags += ["--user", f"{user}:{group}" if group is not None else str(user)]
    for extra in ([pod["fsGroup"]] if "fsGroup" in pod else []) + list(pod.get("supplementalGroups") or []):
        flags += ["--group-add", str(extra)]
    if merged.get("privileged"):
        raise SpecError(f"{where}: privileged containers are not modelled")
    if merged.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    if merged.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    capabilities = merged.get("capabilities") or {}
    require_known(f"{where}.capabilities", capabilities, {"drop", "add"})
    flags += [f"--cap-drop={name}" for name in capabilities.get("drop") or []]
    flags += [f"--cap-add={name}" for name in capabilities.get("add") or []]
    # RuntimeDefault is Docker's default seccomp profile; anything else is not modelled.
    if (merged.get("seccompProfile") or {}).get("type", "RuntimeDefault") != "RuntimeDefault":
        raise SpecError(f"{where}: seccompProfile {merged['seccompProfile']} is not modelled")
    return flags


def resource_flags(where: str, resources: dict) -> list[str]:
    require_known(f"{where}.resources", resources, {"limits", "requests"})
    limits = resources.get("limits") or {}
    require_known(f"{where}.resources.limits", limits, {"cpu", "memory"})
    flags = []
    if "memory" in limits:
        flags += ["--memory", str(int(quantity(limits["memory"], "memory")))]
    if "cpu" in limits:
        flags += ["--cpus", f"{quantity(limits['cpu'], 'cpu'):g}"]
    return flags   # requests only place pods on nodes


def mount_flags(source: list[str], path: str, read_only: bool) -> list[str]:
    kind = source[0]
    if kind == "tmpfs":
        return ["--mount", f"type=tmpfs,destination={path},tmpfs-size={source[1]},tmpfs-mode=1777"]
    # volume-nocopy: a PersistentVolume starts empty, it does not get the image's files.
    return ["--mount", f"type=volume,source={source[1]},destination={path},volume-nocopy" + (",readonly" if read_only else "")]


@dataclass
class PodTemplate:
    """A translated pod template: what every pod of a workload runs."""
    owner: str                       # Deployment/todo-api, ...
    labels: dict[str, str]
    containers: list[Container]
    init_containers: list[Container]
    grace_seconds: int
    volumes: dict[str, tuple[str, int | None]]   # docker volume -> fsGroup


def translate_pod(owner: str, template: dict, rendered: Rendered, claim_volumes: dict[str, str]) -> PodTemplate:
    spec = template["spec"]
    require_known(f"{owner} pod spec", spec, POD_KEYS)
    if spec.get("automountServiceAccountToken", True) or spec.get("enableServiceLinks", True):
        raise SpecError(f"{owner}: a mounted service-account token or service links are not modelled")
    pod_security = spec.get("securityContext") or {}
    require_known(f"{owner}.securityContext", pod_security, POD_SECURITY_KEYS)
    volumes: dict[str, list[str]] = {}
    named: dict[str, tuple[str, int | None]] = {}
    for volume in spec.get("volumes") or []:
        if set(volume) == {"name", "emptyDir"}:
            empty = volume["emptyDir"] or {}
            require_known(f"{owner} volume {volume['name']}", empty, {"sizeLimit", "medium"})
            volumes[volume["name"]] = ["tmpfs", str(int(quantity(empty.get("sizeLimit", "64Mi"), "memory")))]
        elif set(volume) == {"name", "persistentVolumeClaim"}:
            claim = volume["persistentVolumeClaim"]["claimName"]
            if ("PersistentVolumeClaim", claim) not in rendered.objects:
                raise SpecError(f"{owner}: PVC {claim} is not rendered")
            volumes[volume["name"]] = ["volume", f"{PREFIX}-{claim}"]
        else:
            raise SpecError(f"{owner}: volume {volume} is not modelled (emptyDir and persistentVolumeClaim are)")
    for name, docker_volume in claim_volumes.items():
        volumes[name] = ["volume", docker_volume]
    for kind, docker_volume in volumes.values():
        if kind == "volume":
            named[docker_volume] = (docker_volume, pod_security.get("fsGroup"))
    mounts = [mount["name"] for container in (spec.get("initContainers") or []) + spec["containers"] for mount in container.get("volumeMounts") or []]
    shared = [name for name in set(mounts) if mounts.count(name) > 1 and volumes.get(name, ["tmpfs"])[0] == "tmpfs"]
    if shared:
        raise SpecError(f"{owner}: emptyDir {shared} shared between containers is not modelled")
    translate = lambda container: translate_container(f"{owner}/{container['name']}", container, pod_security, volumes, rendered)  # noqa: E731
    containers = [translate(container) for container in spec["containers"]]
    if len(containers) != 1:
        raise SpecError(f"{owner}: pods with {len(containers)} containers are not modelled")
    return PodTemplate(owner, dict(template["metadata"].get("labels") or {}), containers,
                       [translate(container) for container in spec.get("initContainers") or []],
                       int(spec.get("terminationGracePeriodSeconds", 30)), named)


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


SERVICES: ServiceProxy  # created in main()


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
# The acceptance checks

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
    service = SERVICES.listener("todo-api")
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


# ---------------------------------------------------------------------------------------------

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


def run_mode(mode: str, image: str) -> None:
    log(f"=== render and run: database.mode={mode}")
    start = time.monotonic()
    with Step(f"helm template ({mode}) and translate"):
        rendered = Rendered(render(mode, image))
        cluster = Cluster(mode, rendered)
        SERVICES.configure(rendered)
        log(f"  {len(rendered.objects)} objects; pods from {', '.join(template.owner for template in cluster.templates.values())}; "
            f"Services on 127.0.0.1: {', '.join(f'{lst.service}:{lst.port}' for lst in SERVICES.listeners)}")
    taken = service_ports_free(rendered)
    if taken:
        check("the rendered Service ports are free on 127.0.0.1", False, "; ".join(taken))
        return
    try:
        if start_everything(cluster):
            acceptance(cluster)
    except Exception as error:  # one failed check with the pods' logs, then clean up
        check(f"render and run ({mode}) completes", False, f"{type(error).__name__}: {error}")
    finally:
        if CHECKS["failed"]:
            print_logs([pod.docker_name for pod in cluster.pods])
        with Step(f"clean up ({mode})"):
            for pod in cluster.pods:
                pod.stopped.set()
            SERVICES.reset()
            cleanup()
    log(f"=== render and run ({mode}): {time.monotonic() - start:.1f} s")


def print_translation(mode: str, image: str) -> None:
    cluster = Cluster(mode, Rendered(render(mode, image)))
    for name, template in cluster.templates.items():
        container = template.containers[0]
        argv, _ = container.docker_run(f"{PREFIX}-{name}-N", 0 if container.container_port else None, {})
        hosts = sum(1 for flag in argv if flag == "--add-host")
        argv = [word for index, word in enumerate(argv) if word != "--add-host" and (index == 0 or argv[index - 1] != "--add-host")]
        log(f"# {mode}: {template.owner} (+ {hosts} --add-host NAME:127.0.0.1; the pod's port goes in the port variable)\n  {' '.join(argv)}")


def main() -> int:
    global SERVICES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="todo:ci", help="the image under test (repository:tag)")
    parser.add_argument("--mode", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--dry-run", action="store_true", help="print the translation, start nothing")
    arguments = parser.parse_args()
    os.chdir(Path(__file__).resolve().parent.parent)
    modes = ["postgres", "sqlite"] if arguments.mode == "both" else [arguments.mode]
    if arguments.dry_run:
        for mode in modes:
            print_translation(mode, arguments.image)
        return 0
    SERVICES = ServiceProxy()
    cleanup()
    try:
        for mode in modes:
            run_mode(mode, arguments.image)
    except SpecError as error:
        check("every rendered pod field is modelled by the translation", False, str(error))
    finally:
        cleanup()
    log(f"render and run: {CHECKS['passed']} checks passed, {CHECKS['failed']} failed")
    return 0 if CHECKS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
