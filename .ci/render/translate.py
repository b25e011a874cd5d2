"""Rendering the chart with helm, and translating its pod templates into `docker run`.

`helm template` (release todo, namespace todo, the image under test, a generated AUTH_SECRET)
for database.mode=postgres (values.yaml as it is) and database.mode=sqlite. Every rendered
StatefulSet, hook Job, Deployment and `helm test` Pod template becomes the arguments of a
`docker run --network host --pull never` using exactly its rendered image, command/args,
environment (ConfigMap and Secret references resolved from the rendered objects, `envFrom`
first, `env` over it), user and groups (runAsUser/runAsGroup, fsGroup and supplementalGroups
as --group-add), read-only root filesystem, capabilities, no-new-privileges, seccomp, CPU and
memory limits, and volumes (emptyDir: a tmpfs of its sizeLimit; PVC and volumeClaimTemplate:
a named Docker volume without the image's copy-up, given the fsGroup ownership the kubelet
would apply (cluster.ensure_volume), so it outlives its containers). A pod field the
translation does not know stops the run (SpecError), so this test cannot silently drift away
from the chart.

The one deviation from the rendered spec is the pods' network (see cluster.py): on a cluster
each pod has its own address; here every pod shares the host's, so each pod gets its own free
port on 127.0.0.1 by overriding only its port variable (PORT for todo, PGPORT for postgres;
HOST for todo and POSTGRES_LISTEN_ADDRESSES for postgres become 127.0.0.1 so nothing listens
beyond loopback), and its probes target that port (the port named in an exec probe's `-p`
too).
"""

from __future__ import annotations

import base64
import itertools
import secrets
from dataclasses import dataclass, field

import yaml

from compose_e2e import run

CHART = "helm/todo-app"
RELEASE = "todo"
NAMESPACE = "todo"
PREFIX = "todo-rr"
LABEL = "todo-rr"
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
        raise SpecError(f"{where}: field(s) {', '.join(unknown)} not modelled by .ci/render/translate.py")


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
