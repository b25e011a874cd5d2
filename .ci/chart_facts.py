#!/usr/bin/env python3
"""Assert what the chart promises (SPEC section 7) on a `helm template` output,
beyond what schema validation and checkov see: Pod Security "restricted" on every
pod, the application contract (commands, ports, PORT/BACKEND_URL/MCP_URL, probes,
secrets only where needed), and the shape of each configuration.

    python3 .ci/chart_facts.py rendered.yaml --profile dev|sqlite|staging|production|plain
                               [--secret-keys VALUE=KEY,...]

Profiles: dev (values.yaml), sqlite (values.yaml + database.mode=sqlite and
autoscaling on, which SQLite mode must ignore for the backend), staging,
production, plain (k8s/: no hooks, no tests, existing Secret). --secret-keys: the
secret.keys the render was made with (e.g. databaseUrl=database-url, as the Phase IV guides
name them); the pods' variables keep our names either way.
Prints one line per failed fact; exit status 1 when any failed. Needs PyYAML.
"""

import argparse
import sys

import yaml

APP_UID, POSTGRES_UID = 65532, 999
ROLE_PORTS = {"web": 3000, "api": 8000, "mcp": 8001}
IMPORT_LIMIT = 16 << 20  # the backend's MAX_IMPORT_SIZE default
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}
# secret.keys: value name -> (environment variable, default key name)
SECRET_KEYS = {"authSecret": "AUTH_SECRET", "databaseUrl": "DATABASE_URL", "postgresPassword": "POSTGRES_PASSWORD",
               "llmApiKey": "LLM_API_KEY", "oidcClientSecret": "OIDC_CLIENT_SECRET", "smtpUrl": "SMTP_URL",
               "vapidPrivateKey": "VAPID_PRIVATE_KEY"}
# HPA range per profile and role: the Phase IV guides' staging (3-15) and production (5-20) for web and
# api; they have no MCP server of its own, so MCP keeps 2-10 (staging) and 3-10 (production).
HPA_RANGES = {"staging": {"web": (3, 15), "api": (3, 15), "mcp": (2, 10)},
              "production": {"web": (5, 20), "api": (5, 20), "mcp": (3, 10)},
              "sqlite": {"web": (2, 10), "api": (2, 10), "mcp": (2, 10)}}
HPA_TARGETS = {"cpu": 70, "memory": 80}
# MiB a pod may hold after load without being under memory pressure (bench/RESULTS.md: the backend's
# RSS after the benchmark is 60-120 MiB; the MCP server only relays tool calls)
WORKING_SET_MIB = {"web": 120, "api": 120, "mcp": 100}


def mebibytes(quantity):
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    return float(quantity[:-2]) * units[quantity[-2:]] if quantity[-2:] in units else float(quantity) / (1 << 20)
LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
          "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of", "helm.sh/chart"]

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def pod_spec(obj):
    if obj["kind"] == "Pod":
        return obj["metadata"], obj["spec"]
    template = obj["spec"]["template"]
    return template["metadata"], template["spec"]


def env_of(container):
    return {e["name"]: e for e in container.get("env") or []}


def check_restricted(obj):
    """Pod Security Standard "restricted", plus our own rules (read-only root, /tmp, limits)."""
    where = f'{obj["kind"]}/{obj["metadata"]["name"]}'
    _, spec = pod_spec(obj)
    pod_sc = spec.get("securityContext") or {}
    check(spec.get("automountServiceAccountToken") is False, f"{where}: automountServiceAccountToken is not false")
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        check(not spec.get(key), f"{where}: {key}")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        check(kinds <= RESTRICTED_VOLUMES, f"{where}: volume {volume['name']} of type {kinds} not allowed by restricted")
    check(pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{where}: pod seccompProfile")
    check(pod_sc.get("runAsNonRoot") is True, f"{where}: pod runAsNonRoot")
    mounts_tmp = {v["name"] for v in spec.get("volumes") or [] if "emptyDir" in v}
    for container in (spec.get("initContainers") or []) + spec["containers"]:
        name = f"{where} container {container['name']}"
        sc = container.get("securityContext") or {}
        check(sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation")
        check(sc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem")
        check(sc.get("runAsNonRoot") is True, f"{name}: runAsNonRoot")
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: capabilities.drop is not [ALL]")
        check(not sc.get("capabilities", {}).get("add"), f"{name}: adds capabilities")
        check(not sc.get("privileged"), f"{name}: privileged")
        uid = POSTGRES_UID if container["name"] == "postgresql" else APP_UID
        check(sc.get("runAsUser") == uid and pod_sc.get("runAsUser") == uid, f"{name}: runs as {sc.get('runAsUser')}, want {uid}")
        check(pod_sc.get("fsGroup") == uid, f"{name}: fsGroup is not {uid}")
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                check(resource in (container.get("resources") or {}).get(kind, {}), f"{name}: no {kind}.{resource}")
        for port in container.get("ports") or []:
            check("hostPort" not in port, f"{name}: hostPort")
        tmp = [m for m in container.get("volumeMounts") or [] if m["mountPath"] == "/tmp"]
        check(tmp and tmp[0]["name"] in mounts_tmp, f"{name}: no emptyDir at /tmp")
        if container["name"] != "postgresql":
            check(container.get("command") == ["/usr/local/bin/todo"], f"{name}: command is not /usr/local/bin/todo")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rendered")
    parser.add_argument("--profile", required=True, choices=["dev", "sqlite", "staging", "production", "plain"])
    parser.add_argument("--release", default="todo")
    parser.add_argument("--secret-keys", default="", help="VALUE=KEY,... as set in secret.keys")
    args = parser.parse_args()
    profile, release = args.profile, args.release
    secret_key = dict(SECRET_KEYS)
    for pair in filter(None, args.secret_keys.split(",")):
        value, _, name = pair.partition("=")
        if value not in secret_key:
            parser.error(f"--secret-keys: unknown value {value}")
        secret_key[value] = name

    with open(args.rendered) as handle:
        objects = [d for d in yaml.safe_load_all(handle) if d]
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj

    def get(kind, name):
        return by_kind.get(kind, {}).get(name)

    # every object: namespace and the app.kubernetes.io/* labels
    for obj in objects:
        where = f'{obj["kind"]}/{obj["metadata"]["name"]}'
        if obj["kind"] != "Namespace":
            check(obj["metadata"].get("namespace") == "todo", f"{where}: namespace is not todo")
            for label in LABELS:
                check(label in (obj["metadata"].get("labels") or {}), f"{where}: missing label {label}")
    check(not any(k in by_kind for k in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")), "RBAC objects rendered")
    service_account = get("ServiceAccount", release)
    check(service_account and service_account.get("automountServiceAccountToken") is False, "ServiceAccount token automount")

    pods = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job", "Pod")]
    for obj in pods:
        check_restricted(obj)

    config = get("ConfigMap", f"{release}-config")
    if not check(config is not None, "no ConfigMap"):
        return report()
    data = config["data"]
    check(data["BACKEND_URL"] == f"http://{release}-api:8000", f"BACKEND_URL {data['BACKEND_URL']}")
    check(data["MCP_URL"] == f"http://{release}-mcp:8001/mcp", f"MCP_URL {data['MCP_URL']}")
    check(data["HOST"] == "0.0.0.0", "HOST")
    drain = int(data["SHUTDOWN_DRAIN_SECONDS"])
    check(1 <= drain <= 15, f"SHUTDOWN_DRAIN_SECONDS {drain} is not around 5")
    for key in ("AUTH_SECRET", "DATABASE_URL", "POSTGRES_PASSWORD", "LLM_API_KEY"):
        check(key not in data, f"secret {key} in the ConfigMap")

    sqlite = profile == "sqlite"
    database = {"sqlite": "sqlite", "production": "external"}.get(profile, "postgres")
    secret_name = f"{release}-secrets"
    autoscaled = profile in ("staging", "production", "sqlite")
    replicas = {"web": 5, "api": 5, "mcp": 3} if profile == "production" else {"web": 2, "api": 2, "mcp": 2}

    # web, api, mcp: Deployments, Services, probes, rollout, checksums, HPA, PDB
    for role, port in ROLE_PORTS.items():
        name = f"{release}-{role}"
        deployment = get("Deployment", name)
        if not check(deployment is not None, f"no Deployment {name}"):
            continue
        meta, spec = pod_spec(deployment)
        container = spec["containers"][0]
        env = env_of(container)
        single = sqlite and role == "api"
        check(container["args"] == [role], f"{name}: args {container['args']}")
        check(container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}], f"{name}: ports")
        check(env.get("PORT", {}).get("value") == str(port), f"{name}: PORT")
        check(container["envFrom"] == [{"configMapRef": {"name": f"{release}-config"}}], f"{name}: envFrom")
        for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            check(container.get(probe, {}).get("httpGet") == {"path": path, "port": "http"}, f"{name}: {probe}")
        check(spec["terminationGracePeriodSeconds"] > drain + 20, f"{name}: terminationGracePeriodSeconds too short")
        check("checksum/config" in meta.get("annotations", {}), f"{name}: no checksum/config")
        check(("checksum/secret" in meta.get("annotations", {})) == (role == "api"), f"{name}: checksum/secret")
        uses_secret = any("secretKeyRef" in (e.get("valueFrom") or {}) for e in container.get("env") or [])
        check(uses_secret == (role == "api"), f"{name}: Secret use (only the backend may read it)")
        if single:
            check(deployment["spec"]["strategy"] == {"type": "Recreate"}, f"{name}: strategy is not Recreate")
            check(deployment["spec"].get("replicas") == 1, f"{name}: SQLite backend replicas != 1")
            check({"name": "data", "mountPath": "/data"} in container["volumeMounts"], f"{name}: /data not mounted")
            claim = next((v for v in spec["volumes"] if v["name"] == "data"), {}).get("persistentVolumeClaim", {})
            check(claim.get("claimName") == f"{release}-data" and get("PersistentVolumeClaim", f"{release}-data"),
                  f"{name}: PVC {release}-data")
            check(env.get("DATABASE_URL", {}).get("value") == "sqlite:///data/todo.db", f"{name}: DATABASE_URL")
            check(env.get("TODO_DATA_DIR", {}).get("value") == "/data", f"{name}: TODO_DATA_DIR")
        else:
            check(deployment["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                  f"{name}: rolling update")
            if role == "api":
                ref = env.get("DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef", {})
                check(ref.get("name") == secret_name and ref.get("key") == secret_key["databaseUrl"], f"{name}: DATABASE_URL from Secret")
        if role == "web":
            # An import file goes through the web UI: the backend's 1 MiB body limit must not reach it.
            check(env.get("MAX_BODY_SIZE", {}).get("value") == str(IMPORT_LIMIT), f"{name}: MAX_BODY_SIZE is not the import limit")
        if role == "api":
            check(env["AUTH_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": secret_name, "key": secret_key["authSecret"]}, f"{name}: AUTH_SECRET")
            check(env["LLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": secret_name, "key": secret_key["llmApiKey"], "optional": True},
                  f"{name}: LLM_API_KEY optional, from key {secret_key['llmApiKey']}")
        hpa = get("HorizontalPodAutoscaler", name)
        if autoscaled and not single:
            if check(hpa is not None, f"{name}: no HPA"):
                check(hpa["apiVersion"] == "autoscaling/v2", f"{name}: HPA apiVersion")
                low, high = HPA_RANGES[profile][role]
                check((hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (low, high),
                      f"{name}: HPA range {hpa['spec']['minReplicas']}-{hpa['spec']['maxReplicas']}, want {low}-{high}")
                targets = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"}
                check({r: t.get("averageUtilization") for r, t in targets.items()} == HPA_TARGETS
                      and all(t["type"] == "Utilization" for t in targets.values()), f"{name}: HPA targets {targets}, want {HPA_TARGETS}")
                check(hpa["spec"]["scaleTargetRef"]["name"] == name, f"{name}: HPA target")
            check("replicas" not in deployment["spec"], f"{name}: replicas set although an HPA scales it")
            if profile in ("staging", "production"):
                # the memory target must lie above the working set after load, or the HPA never scales down
                request = mebibytes(container["resources"]["requests"]["memory"])
                check(request * HPA_TARGETS["memory"] / 100 >= WORKING_SET_MIB[role],
                      f"{name}: memory request {request} MiB puts the HPA's memory target below the working set")
        else:
            check(hpa is None, f"{name}: unexpected HPA")
            if not single:
                check(deployment["spec"].get("replicas") == replicas[role], f"{name}: replicas {deployment['spec'].get('replicas')}")
        pdb = get("PodDisruptionBudget", name)
        check((pdb is not None) == (not single), f"{name}: PDB presence")
        if pdb:
            check(pdb["spec"] == {"minAvailable": 1, "selector": deployment["spec"]["selector"]}, f"{name}: PDB spec")
        service = get("Service", name)
        if check(service is not None, f"no Service {name}"):
            check(service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"], f"{name}: Service selector")
            check(service["spec"]["ports"][0]["port"] == port and service["spec"]["ports"][0]["targetPort"] == "http",
                  f"{name}: Service port")
            check(service["spec"]["type"] == "ClusterIP", f"{name}: Service type")
        affinity = spec.get("affinity", {}).get("podAntiAffinity")
        spread = spec.get("topologySpreadConstraints")
        if profile == "production":
            check(affinity is not None and spread, f"{name}: no anti-affinity/topology spread in production")
        if profile in ("dev", "plain", "sqlite"):
            check(affinity is None and spread is None, f"{name}: anti-affinity in development")

    # database objects
    statefulset = get("StatefulSet", f"{release}-postgresql")
    check((statefulset is not None) == (database == "postgres"), "PostgreSQL StatefulSet presence")
    if statefulset:
        _, spec = pod_spec(statefulset)
        container = spec["containers"][0]
        env = env_of(container)
        check(container["image"] == "postgres:15", "postgres image")
        check(env["PGDATA"]["value"].startswith("/var/lib/postgresql/data/"), "PGDATA under the volume")
        check(env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": secret_name, "key": secret_key["postgresPassword"]}, "POSTGRES_PASSWORD")
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        check(mounts.get("/var/lib/postgresql/data") == "data", "postgres data mount")
        check({"/var/run/postgresql", "/tmp"} <= set(mounts), "postgres emptyDirs")
        check(statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data", "volumeClaimTemplate")
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            check(container[probe]["exec"]["command"][0] == "pg_isready", f"postgres {probe}")
        headless = get("Service", f"{release}-postgresql")
        check(headless and headless["spec"].get("clusterIP") == "None", "postgres headless Service")
        check(statefulset["spec"]["serviceName"] == f"{release}-postgresql", "StatefulSet serviceName")
    check((get("PersistentVolumeClaim", f"{release}-data") is not None) == sqlite, "SQLite PVC presence")

    # Secret: created only in development
    secret = get("Secret", secret_name)
    check((secret is not None) == (profile in ("dev", "sqlite")), "Secret presence (created only in development)")
    if secret:
        keys = set(secret["data"])
        want = {secret_key["authSecret"]} | ({secret_key["databaseUrl"], secret_key["postgresPassword"]} if database == "postgres" else set())
        check(keys == want, f"Secret keys {sorted(keys)}, want {sorted(want)}")

    # migrations
    job = get("Job", f"{release}-migrate")
    has_job = database != "sqlite" and profile != "plain"
    check((job is not None) == has_job, "migration Job presence")
    if job:
        annotations = job["metadata"]["annotations"]
        hook = "pre-install,pre-upgrade" if database == "external" else "pre-upgrade"
        check(annotations.get("helm.sh/hook") == hook, f"migration hook {annotations.get('helm.sh/hook')}, want {hook}")
        check("helm.sh/hook-delete-policy" in annotations, "migration hook-delete-policy")
        check(pod_spec(job)[1]["containers"][0]["args"] == ["migrate"], "migration args")
        ref = env_of(pod_spec(job)[1]["containers"][0]).get("DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef", {})
        check(ref == {"name": secret_name, "key": secret_key["databaseUrl"]}, f"migration DATABASE_URL from {ref}")
        check(data["MIGRATE_ON_START"] == ("false" if hook.startswith("pre-install") else "true"), "MIGRATE_ON_START vs hook")
    else:
        check(data["MIGRATE_ON_START"] == "true", "MIGRATE_ON_START without a Job")

    # helm tests
    tests = [o for o in by_kind.get("Pod", {}).values()]
    if profile == "plain":
        check(not tests, "test pods in plain manifests")
    else:
        urls = sorted(p["spec"]["containers"][0]["args"][1] for p in tests)
        want = sorted(f"http://{release}-{role}:{port}/healthz" for role, port in ROLE_PORTS.items())
        check(urls == want, f"test pods check {urls}")
        for pod in tests:
            check(pod["metadata"]["annotations"].get("helm.sh/hook") == "test", f"{pod['metadata']['name']}: not a test hook")
            check(pod["spec"]["containers"][0]["args"][0] == "healthcheck", f"{pod['metadata']['name']}: not todo healthcheck")

    # Ingress
    ingress = get("Ingress", release)
    if check(ingress is not None, "no Ingress"):
        paths = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
        check(paths == {"/api": f"{release}-api", "/dav": f"{release}-api", "/.well-known/caldav": f"{release}-api", "/": f"{release}-web"},
              f"Ingress paths {paths}")
        public = profile in ("staging", "production")
        check(bool(ingress["spec"].get("tls")) == public, "Ingress TLS per environment")
        body_size = (ingress["metadata"].get("annotations") or {}).get("nginx.ingress.kubernetes.io/proxy-body-size", "1m")
        check(body_size.endswith("m") and int(body_size[:-1]) << 20 >= IMPORT_LIMIT, f"Ingress proxy-body-size {body_size} below an import")
        issuer = (ingress["metadata"].get("annotations") or {}).get("cert-manager.io/cluster-issuer")
        check(bool(issuer) == public, "cert-manager annotation per environment")

    # NetworkPolicies are checked flow by flow in netpol_flows.py; here only that they exist
    check(f"{release}-default-deny" in by_kind.get("NetworkPolicy", {}), "no default-deny NetworkPolicy")
    if profile == "plain":
        namespace = get("Namespace", "todo")
        check(namespace and namespace["metadata"]["labels"].get("pod-security.kubernetes.io/enforce") == "restricted",
              "Namespace todo enforces Pod Security restricted")
    return report()


def report():
    for failure in failures:
        print(f"  FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
