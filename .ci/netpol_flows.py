#!/usr/bin/env python3
"""Compute the network flows the rendered NetworkPolicies allow and compare them
with the flows the architecture needs (SPEC section 7): exactly those, no more,
no fewer.

    helm template todo helm/todo-app -n todo > rendered.yaml
    python3 .ci/netpol_flows.py rendered.yaml --database postgres
    python3 .ci/netpol_flows.py rendered.yaml --database postgres --self-test
    python3 .ci/netpol_flows.py with-llm.yaml --database postgres --llm-egress internet-host:443
    python3 .ci/netpol_flows.py with-webhooks.yaml --database postgres --webhook-egress internet-host:443 ...
    python3 .ci/netpol_flows.py with-push.yaml --database postgres --push-egress internet-host:443 ...

The release's pods (with their labels and container ports) come from the rendered
Deployments, StatefulSets, Jobs and Pods. Around them the script places the
endpoints a cluster has: the ingress controller, cluster DNS, Prometheus, an
unrelated pod in the same namespace and one in another namespace, a host on the
internet, a host on a private network (where an external database lives), a model
provider's host (203.0.113.10, a documentation range) and the cloud metadata
address. A flow src -> dst:port/proto is allowed when src's egress
and dst's ingress both allow it, with the Kubernetes NetworkPolicy semantics
(a pod selected by no policy of a direction is open in that direction; selected
pods allow the union of the rules of the policies that select them).

The backend may reach a model provider only when the chart has an LLM configured:
--llm-egress HOST:PORT names each outside host the backend must then reach (and
no other). Without it, no flow from the backend to an outside host on 443 (or any
port but the external database's) is expected. Besides the flows, the egress rules
themselves are checked: every rule names its destinations and ports (an empty `to`
or `ports` would open every address or port), and address ranges (ipBlocks) appear
only with the database's port, the LLM's, the mail server's (--mail-egress, the same
for mail.enabled), the webhook receivers' (--webhook-egress, the same for
webhooks.enabled) or the push services' (--push-egress, the same for push.enabled), so
no rule such as 0.0.0.0/0:443 is left behind when no LLM is configured and webhooks and
push are off.

--self-test additionally breaks the policies in three ways (drops the web policy,
adds an allow-all policy, and, when the backend must not reach the internet on 443,
adds the old chart's rule api -> 0.0.0.0/0 except private ranges :443) and checks
that the comparison catches each.
Needs PyYAML. Exit status 0 when the flows match, 1 otherwise.
"""

import argparse
import copy
import ipaddress
import sys

import yaml

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet"}
COMPONENT = "app.kubernetes.io/component"


class Endpoint:
    """A pod (in a namespace, with labels) or a host outside the cluster (an IP only)."""

    def __init__(self, name, ip, ports, namespace=None, labels=None, namespace_labels=None,
                 port_names=None, release=False):
        self.name = name
        self.ip = ipaddress.ip_address(ip)
        self.ports = ports                      # [(port, protocol)]
        self.namespace = namespace              # None: not a pod
        self.labels = labels or {}
        self.namespace_labels = namespace_labels or {}
        self.port_names = port_names or {}      # name -> (port, protocol)
        self.release = release

    @property
    def is_pod(self):
        return self.namespace is not None


def selector_matches(selector, labels):
    """Kubernetes LabelSelector semantics; an empty selector matches everything."""
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def peer_matches(peer, endpoint, policy_namespace):
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        if endpoint.ip not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(endpoint.ip in ipaddress.ip_network(e) for e in block.get("except") or [])
    if not endpoint.is_pod:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], endpoint.namespace_labels):
            return False
    elif endpoint.namespace != policy_namespace:
        return False
    return selector_matches(peer.get("podSelector"), endpoint.labels)


def port_matches(rule_ports, target, port, protocol):
    """rule_ports: the rule's `ports`; target: the endpoint whose named ports apply."""
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str) and not wanted.isdigit():
            named = target.port_names.get(wanted)
            if named == (port, protocol):
                return True
            continue
        low = int(wanted)
        high = int(entry.get("endPort", low))
        if low <= port <= high:
            return True
    return False


def direction_allows(policies, pod, direction, peer, port, protocol, target):
    """Does `pod`'s policy set allow traffic in `direction` ("Ingress"/"Egress") with `peer`?"""
    if not pod.is_pod:
        return True
    selecting = []
    for policy in policies:
        spec = policy.get("spec") or {}
        if policy["metadata"].get("namespace") != pod.namespace:
            continue
        if not selector_matches(spec.get("podSelector") or {}, pod.labels):
            continue
        types = spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") else ["Ingress"])
        if direction in types:
            selecting.append(policy)
    if not selecting:
        return True                                    # not isolated in this direction
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in selecting:
        namespace = policy["metadata"]["namespace"]
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            if peers and not any(peer_matches(p, peer, namespace) for p in peers):
                continue
            if port_matches(rule.get("ports"), target, port, protocol):
                return True
    return False


def release_endpoints(documents, namespace_labels):
    """One endpoint per pod template of the release (test pods by name)."""
    endpoints = []
    for index, document in enumerate(d for d in documents if d.get("kind") in WORKLOAD_KINDS | {"Pod"}):
        if document["kind"] == "Pod":
            metadata, spec = document["metadata"], document["spec"]
        else:
            metadata, spec = document["spec"]["template"]["metadata"], document["spec"]["template"]["spec"]
        labels = metadata.get("labels") or {}
        namespace = document["metadata"].get("namespace", "default")
        name = labels.get(COMPONENT, document["metadata"]["name"])
        if name == "test":
            name = "test-" + document["metadata"]["name"].rsplit("-test-", 1)[-1]
        ports, names = [], {}
        for container in spec.get("containers") or []:
            for p in container.get("ports") or []:
                entry = (int(p["containerPort"]), p.get("protocol", "TCP"))
                ports.append(entry)
                if "name" in p:
                    names[p["name"]] = entry
        endpoints.append(Endpoint(name, f"10.244.0.{10 + index}", ports, namespace, labels,
                                  namespace_labels(namespace), names, release=True))
    return endpoints


def world(namespace):
    """The endpoints around the release."""
    def ns(name):
        return {"kubernetes.io/metadata.name": name}
    return [
        Endpoint("ingress-controller", "10.244.1.10", [(80, "TCP"), (443, "TCP")], "ingress-nginx",
                 {"app.kubernetes.io/name": "ingress-nginx"}, ns("ingress-nginx")),
        Endpoint("kube-dns", "10.244.1.2", [(53, "UDP"), (53, "TCP")], "kube-system",
                 {"k8s-app": "kube-dns"}, ns("kube-system")),
        Endpoint("prometheus", "10.244.1.20", [(9090, "TCP")], "monitoring",
                 {"app.kubernetes.io/name": "prometheus"}, ns("monitoring")),
        Endpoint("otel-collector", "10.244.1.30", [(4317, "TCP"), (4318, "TCP")], "observability",
                 {"app.kubernetes.io/name": "opentelemetry-collector"}, ns("observability")),
        Endpoint("other-pod-same-namespace", "10.244.0.200", [(8080, "TCP"), (5432, "TCP")], namespace,
                 {"app": "other"}, ns(namespace)),
        Endpoint("other-pod-other-namespace", "10.244.2.5", [(8080, "TCP"), (5432, "TCP")], "default",
                 {"app": "other"}, ns("default")),
        Endpoint("internet-host", "93.184.216.34", [(80, "TCP"), (443, "TCP"), (5432, "TCP")]),
        Endpoint("private-network-host", "10.20.30.40", [(443, "TCP"), (5432, "TCP")]),
        Endpoint("llm-provider", "203.0.113.10", [(443, "TCP"), (8443, "TCP")]),
        Endpoint("mail-server", "198.51.100.25", [(25, "TCP"), (465, "TCP"), (587, "TCP")]),
        Endpoint("cloud-metadata", "169.254.169.254", [(80, "TCP"), (443, "TCP")]),
    ]


def allowed_flows(policies, endpoints):
    flows = set()
    for source in endpoints:
        for destination in endpoints:
            if source is destination or not (source.release or destination.release):
                continue
            for port, protocol in destination.ports:
                if (direction_allows(policies, source, "Egress", destination, port, protocol, destination)
                        and direction_allows(policies, destination, "Ingress", source, port, protocol, destination)):
                    flows.add(f"{source.name} -> {destination.name}:{port}/{protocol}")
    return flows


def expected_flows(endpoints, args):
    """The flows of SPEC section 7 for this configuration."""
    release = [e.name for e in endpoints if e.release]
    tests = [name for name in release if name.startswith("test-")]
    flows = {
        "ingress-controller -> web:3000/TCP",
        "ingress-controller -> api:8000/TCP",
        "web -> api:8000/TCP",
        "api -> mcp:8001/TCP",
        "mcp -> api:8000/TCP",
    }
    for destination in outside_egress(args):
        flows.add(f"api -> {destination}/TCP")
    for name in release:
        flows.add(f"{name} -> kube-dns:53/UDP")
        flows.add(f"{name} -> kube-dns:53/TCP")
    for test in tests:
        flows |= {f"{test} -> web:3000/TCP", f"{test} -> api:8000/TCP", f"{test} -> mcp:8001/TCP"}
    database = {"postgres": "postgresql:5432/TCP", "external": "private-network-host:5432/TCP"}.get(args.database)
    if database:
        flows.add(f"api -> {database}")
        if "migrate" in release:
            flows.add(f"migrate -> {database}")
    if args.mcp_exposed:
        flows.add("ingress-controller -> mcp:8001/TCP")
    if args.monitoring:
        flows |= {"prometheus -> web:3000/TCP", "prometheus -> api:8000/TCP", "prometheus -> mcp:8001/TCP"}
    if args.tracing:
        flows |= {"web -> otel-collector:4318/TCP", "api -> otel-collector:4318/TCP", "mcp -> otel-collector:4318/TCP"}
    if args.web_exposed:
        # a NodePort/LoadBalancer Service: anything outside the release may reach the UI
        flows |= {f"{e.name} -> web:3000/TCP" for e in endpoints if not e.release}
    return flows


def outside_egress(args):
    """Every outside HOST:PORT the backend must reach (LLM, mail server, webhook receivers, push services)."""
    return args.llm_egress + args.mail_egress + args.webhook_egress + args.push_egress


def expected_components(args):
    components = {"web", "api", "mcp", "test-web", "test-api", "test-mcp"}
    if args.database == "postgres":
        components.add("postgresql")
    if args.database != "sqlite" and args.migrate_job:
        components.add("migrate")
    return components


def egress_rule_problems(policies, endpoints, args):
    """Rules that open more than the sample endpoints show: a missing `to` or `ports`, or an
    address range (ipBlock) on a port other than the external database's or the LLM's."""
    release = [e for e in endpoints if e.release]
    range_ports = {int(d.rsplit(":", 1)[1]) for d in outside_egress(args)}
    if args.database == "external":
        range_ports.add(5432)
    problems = []
    for policy in policies:
        spec = policy.get("spec") or {}
        if not any(selector_matches(spec.get("podSelector") or {}, pod.labels) for pod in release):
            continue
        name = policy["metadata"]["name"]
        for index, rule in enumerate(spec.get("egress") or []):
            where = f"{name} egress[{index}]"
            if not rule.get("to"):
                problems.append(f"{where}: no `to`, so every destination")
            if not rule.get("ports"):
                problems.append(f"{where}: no `ports`, so every port")
            blocks = [p["ipBlock"] for p in rule.get("to") or [] if "ipBlock" in p]
            if not blocks:
                continue
            ports = set()
            for entry in rule.get("ports") or []:
                port = entry.get("port", "every port")
                if str(port).isdigit() and "endPort" in entry:
                    port = f"{port}-{entry['endPort']}"
                ports.add(int(port) if str(port).isdigit() else port)
            for block in blocks:
                outside = sorted(str(p) for p in ports - range_ports)
                if outside:
                    ranges = block["cidr"] + (f" except {', '.join(block['except'])}" if block.get("except") else "")
                    why = ("no LLM, mail server, webhooks or push are configured" if not outside_egress(args)
                           else "not the LLM's, the mail server's, the webhook receivers', the push services' or the database's port")
                    problems.append(f"{where}: address range {ranges} on port {', '.join(outside)} ({why})")
    return problems


def compare(policies, endpoints, args, quiet=False):
    actual = allowed_flows(policies, endpoints)
    expected = expected_flows(endpoints, args)
    extra, missing = sorted(actual - expected), sorted(expected - actual)
    extra += [f"rule {p}" for p in egress_rule_problems(policies, endpoints, args)]
    if not quiet:
        for flow in extra:
            print(f"  NOT EXPECTED but allowed: {flow}")
        for flow in missing:
            print(f"  EXPECTED but blocked:     {flow}")
    return actual, extra, missing


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rendered", help="output of helm template (with hooks and tests)")
    parser.add_argument("--database", choices=["postgres", "external", "sqlite"], required=True)
    parser.add_argument("--web-exposed", action="store_true", help="web Service is NodePort/LoadBalancer")
    parser.add_argument("--mcp-exposed", action="store_true", help="ingress.exposeMcp is true")
    parser.add_argument("--monitoring", action="store_true", help="serviceMonitor.enabled is true")
    parser.add_argument("--tracing", action="store_true", help="tracing.enabled is true (collector in the default namespace and labels)")
    parser.add_argument("--llm-egress", action="append", default=[], metavar="HOST:PORT",
                        help="an LLM is configured: the backend must reach this outside host on this port "
                             "(repeatable; hosts: internet-host, private-network-host, llm-provider, cloud-metadata)")
    parser.add_argument("--mail-egress", action="append", default=[], metavar="HOST:PORT",
                        help="mail.enabled: the backend must reach this mail server on this port (repeatable)")
    parser.add_argument("--webhook-egress", action="append", default=[], metavar="HOST:PORT",
                        help="webhooks.enabled: the backend must reach this receiver host on this port (repeatable)")
    parser.add_argument("--push-egress", action="append", default=[], metavar="HOST:PORT",
                        help="push.enabled: the backend must reach this push service host on this port (repeatable)")
    parser.add_argument("--no-migrate-job", dest="migrate_job", action="store_false")
    parser.add_argument("--self-test", action="store_true", help="also prove that broken policies are caught")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every allowed flow")
    args = parser.parse_args()

    with open(args.rendered) as handle:
        documents = [d for d in yaml.safe_load_all(handle) if d]
    policies = [d for d in documents if d.get("kind") == "NetworkPolicy"]
    namespaces = {d["metadata"].get("namespace", "default") for d in documents if d.get("kind") in WORKLOAD_KINDS}
    if len(namespaces) != 1:
        sys.exit(f"expected the release in one namespace, found {sorted(namespaces)}")
    namespace = namespaces.pop()

    def namespace_labels(name):
        return {"kubernetes.io/metadata.name": name}

    endpoints = release_endpoints(documents, namespace_labels) + world(namespace)
    outside = {e.name: e for e in endpoints if not e.is_pod}
    for destination in outside_egress(args):
        host, _, port = destination.rpartition(":")
        if host not in outside or not port.isdigit() or (int(port), "TCP") not in outside[host].ports:
            sys.exit(f"egress {destination}: not one of "
                     + ", ".join(f"{e.name}:{p}" for e in outside.values() for p, _ in e.ports))
    components = {e.name for e in endpoints if e.release}
    if components != expected_components(args):
        sys.exit(f"release pods {sorted(components)} differ from the expected {sorted(expected_components(args))}")
    if not policies:
        sys.exit("no NetworkPolicy rendered")

    actual, extra, missing = compare(policies, endpoints, args)
    if args.verbose:
        for flow in sorted(actual):
            print(f"  allowed: {flow}")
    failed = bool(extra or missing)

    if args.self_test:
        # 1. without the web policy, web is default-denied: the flows into and out of web go missing
        broken = [p for p in policies if not p["metadata"]["name"].endswith("-web")]
        _, extra1, missing1 = compare(broken, endpoints, args, quiet=True)
        # 2. an allow-all ingress policy on the release's pods opens flows nobody asked for
        allow_all = copy.deepcopy(next(p for p in policies if p["metadata"]["name"].endswith("-default-deny")))
        allow_all["metadata"]["name"] += "-allow-all"
        allow_all["spec"] = {"podSelector": allow_all["spec"]["podSelector"], "policyTypes": ["Ingress"], "ingress": [{}]}
        _, extra2, missing2 = compare(policies + [allow_all], endpoints, args, quiet=True)
        # 3. the old chart's rule: the backend may reach any public address on 443, LLM or not
        old_rule = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                                       "169.254.0.0/16", "100.64.0.0/10"]}}],
                    "ports": [{"protocol": "TCP", "port": 443}]}
        extra3 = None
        if "api -> internet-host:443/TCP" not in expected_flows(endpoints, args):
            widened = copy.deepcopy(policies)
            api = next(p for p in widened if p["metadata"]["name"].endswith("-api"))
            api["spec"].setdefault("egress", []).append(old_rule)
            _, extra3, _ = compare(widened, endpoints, args, quiet=True)
        if not missing1 or not extra2 or extra3 == []:
            print("  SELF-TEST FAILED: a broken policy set was not detected")
            failed = True
        else:
            print(f"  self-test: dropping the web policy loses {len(missing1)} flows; "
                  f"an allow-all policy adds {len(extra2)}"
                  + ("" if extra3 is None else f"; api -> 0.0.0.0/0:443 adds {len(extra3)} (flows and rules)")
                  + ": all detected")

    status = "MISMATCH" if failed else "ok"
    llm = ", ".join(args.llm_egress) or "none"
    webhooks = f", webhook egress: {', '.join(args.webhook_egress)}" if args.webhook_egress else ""
    webhooks += f", push egress: {', '.join(args.push_egress)}" if args.push_egress else ""
    print(f"{status}: {len(actual)} allowed flows, {len(expected_flows(endpoints, args))} expected "
          f"({args.rendered}, database={args.database}, LLM egress: {llm}{webhooks})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
