"""The monitoring the chart ships, against the real tools: Debian's Prometheus scrapes `todo api`
(PostgreSQL), `todo web` and `todo mcp`; `promtool check metrics` accepts each role's /metrics;
every panel query of the Grafana dashboard returns data, and so does what every alert measures,
except the kube-state-metrics series no cluster provides here: those alerts are proven by
`promtool test rules` (tests/prometheus/alerts.test.yml, run by .ci/k8s-checks.sh)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
import yaml

from server import REPO, Client, TodoProcess, free_port
from sse import EventStream

CHART = REPO / "helm" / "todo-app"
ALERT_TESTS = REPO / "tests" / "prometheus" / "alerts.test.yml"
# What Prometheus's Kubernetes discovery would add to each target of release "todo".
NAMESPACE = "todo"
# The dashboard's $__rate_interval: four scrapes at the test's 1 s interval.
RATE_INTERVAL = "4s"


@pytest.fixture(scope="module")
def prometheus_tools():
    """Debian's prometheus and promtool, installed with apt when missing (as root)."""
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
            subprocess.run(install, env=env, check=True, capture_output=True)
    return shutil.which("prometheus"), shutil.which("promtool")


def helm() -> str:
    """Helm, from ../shared/ci-env/k8s-tools when it is not installed yet (CI's later stage installs it too)."""
    if not shutil.which("helm"):
        k8s_tools = REPO.parent / "shared" / "ci-env" / "k8s-tools"
        if not k8s_tools.exists():
            pytest.fail("helm is missing: install Helm 3.8+ or run ../shared/ci-env/k8s-tools")
        subprocess.run(["bash", str(k8s_tools)], check=True, capture_output=True)
    return shutil.which("helm")


def alert_rules() -> list[dict]:
    """The chart's alerting rules for release "todo" in namespace "todo"."""
    rendered = subprocess.run(
        [helm(), "template", "todo", str(CHART), "--namespace", NAMESPACE, "--values", str(CHART / "values.yaml"),
         "--set", "prometheusRule.enabled=true", "--show-only", "templates/prometheusrule.yaml"],
        check=True, capture_output=True, text=True).stdout
    return [rule for group in yaml.safe_load(rendered)["spec"]["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    """Every panel query of the shipped dashboard, with Grafana's variables filled in."""
    board = json.loads((CHART / "dashboards" / "todo-app.json").read_text())
    queries = [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]
    return [query.replace("$namespace", NAMESPACE).replace("$service", ".*").replace("$__rate_interval", RATE_INTERVAL)
            for query in queries]


def rfc3339(seconds_from_now: float) -> str:
    moment = datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Prometheus:
    """Debian's Prometheus on 127.0.0.1, scraping the given targets every second."""

    def __init__(self, binary: str, directory, targets: dict[str, int]):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{
                "job_name": "todo",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"], "labels": {"namespace": NAMESPACE, "service": service, "pod": f"{service}-0"}}
                    for service, port in targets.items()
                ],
            }],
        }
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = open(directory / "prometheus.log", "ab")
        self.process = subprocess.Popen(
            [binary, f"--config.file={directory / 'prometheus.yml'}", f"--storage.tsdb.path={directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def query(self, expr: str) -> list:
        reply = requests.get(f"{self.base}/api/v1/query", params={"query": expr}, timeout=5)
        assert reply.status_code == 200, f"{expr}: {reply.text}"
        return reply.json()["data"]["result"]

    def wait_until(self, exprs: list[str], timeout: float) -> dict[str, list]:
        """Each query's result, once all have data or `timeout` passed."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                results = {expr: self.query(expr) for expr in exprs}
            except requests.ConnectionError:
                results = {expr: [] for expr in exprs}
            if all(results.values()) or time.monotonic() > deadline:
                return results
            time.sleep(0.5)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def stack(postgres_url, start):
    """`todo api` on PostgreSQL (for the pool metrics), `todo web` and `todo mcp` in front of it.
    The web UI asks for readiness once before the backend is up: a 503, so that the 5xx panels
    have a series to show. (`start` comes second so that its processes stop before the database
    is dropped: a backend that loses its database mid-run takes the 15 s of a kill to stop.)"""
    url, _ = postgres_url
    api_port = free_port()
    web = start("web", BACKEND_URL=f"http://127.0.0.1:{api_port}", DATABASE_URL=None, AUTH_SECRET=None, ACCESS_LOG="false")
    deadline = time.monotonic() + 10
    while True:
        try:
            assert requests.get(web.base + "/readyz", timeout=2).status_code == 503
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline, web.output()
            time.sleep(0.05)
    api = start("api", PORT=api_port, DATABASE_URL=url, REMINDER_INTERVAL_MS=200, ACCESS_LOG="false")
    mcp = start("mcp", BACKEND_URL=api.base, DATABASE_URL=None, AUTH_SECRET=None, ACCESS_LOG="false")
    for process in (api, web, mcp):
        process.wait_ready()
    return {"todo-api": api, "todo-web": web, "todo-mcp": mcp}


def use_the_stack(stack: dict[str, TodoProcess], seconds: float):
    """Requests to every role for `seconds`: a user with tasks, one reminder due at once."""
    user = Client(stack["todo-api"].base)
    user.session.post(user.url("/tasks"), json={"title": "call back", "remind_at": rfc3339(0.5)}, timeout=5).raise_for_status()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        user.session.post(user.url("/tasks"), json={"title": "write it down"}, timeout=5).raise_for_status()
        user.session.get(user.url("/tasks"), timeout=5).raise_for_status()
        requests.get(stack["todo-web"].base + "/login", timeout=5).raise_for_status()
        requests.get(stack["todo-mcp"].base + "/healthz", timeout=5).raise_for_status()
        time.sleep(0.1)


def test_each_roles_metrics_pass_promtool_and_version_names_the_build(stack, prometheus_tools):
    _, promtool = prometheus_tools
    use_the_stack(stack, 1)
    for service, process in stack.items():
        metrics = requests.get(process.base + "/metrics", timeout=5)
        assert metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        check = subprocess.run([promtool, "check", "metrics"], input=metrics.text, capture_output=True, text=True)
        assert check.returncode == 0, f"{service}: {check.stdout}{check.stderr}"
        assert "# TYPE http_server_requests_total counter" in metrics.text
        assert "# TYPE process_cpu_seconds_total counter" in metrics.text
        assert "hb_requests" not in metrics.text
        version = requests.get(process.base + "/version", timeout=5).json()
        assert re.fullmatch(r"\d+\.\d+\.\d+.*", version["version"]), f"{service}: {version}"
    api_metrics = observed(stack["todo-api"], ["reminder_delivery_lag_seconds_count", "db_pool_wait_duration_seconds_count"])
    for family in ("db_pool_connections_max", "db_pool_connections_in_use", "db_pool_requests_waiting",
                   "db_pool_wait_duration_seconds", "reminder_delivery_lag_seconds", "db_up"):
        assert f"# TYPE {family} " in api_metrics, family


def test_an_event_stream_is_measured_until_it_opens_and_is_not_in_flight_while_open(stack):
    """The latency histogram measures a request until its response is ready to send. An event
    stream is observed as it opens: observed when it closed, an hour later, it would be an hour of
    latency, and a few such closes would trip TodoHighLatency on a quiet server. While it stays
    open it is not a request in flight."""
    api = stack["todo-api"]
    user = Client(api.base)
    stream = EventStream(f"{api.base}/api/me/events", user.token)
    try:
        text = requests.get(api.base + "/metrics", timeout=5).text
        labels = '{http_route="/api/{user_id}/events",http_request_method="GET",http_response_status_code="200"}'
        count = re.search(rf"^http_server_request_duration_seconds_count{re.escape(labels)} (\S+)$", text, re.MULTILINE)
        assert count and float(count.group(1)) == 1, text
        in_flight = re.search(r'^http_server_active_requests\{http_request_method="GET"\} (\S+)$', text, re.MULTILINE)
        assert in_flight and float(in_flight.group(1)) == 1, text  # the /metrics request itself
    finally:
        stream.close()


def observed(process: TodoProcess, counts: list[str], timeout: float = 5) -> str:
    """The process's /metrics once every histogram named by its `_count` has an observation."""
    deadline = time.monotonic() + timeout
    while True:
        text = requests.get(process.base + "/metrics", timeout=5).text
        missing = [count for count in counts if not re.search(rf"^{count}(?:{{[^}}]*}})? [1-9]", text, re.MULTILINE)]
        if not missing:
            return text
        assert time.monotonic() < deadline, f"nothing observed in {missing}"
        time.sleep(0.2)


# Series only kube-state-metrics exports; the alerts reading them are proven by promtool test rules.
KUBE_STATE_METRICS = re.compile(r"\bkube_\w+")
# An alert's threshold: a comparison with a number at the end of its expression.
THRESHOLD = re.compile(r"\s(?:>|<|==)\s*[0-9.]+\s*$")


def test_prometheus_scrapes_every_role_and_every_dashboard_and_alert_query_has_data(stack, prometheus_tools, tmp_path):
    binary, _ = prometheus_tools
    rules = alert_rules()
    tested_alerts = set(re.findall(r"alertname: (\w+)", ALERT_TESTS.read_text()))
    assert {rule["alert"] for rule in rules} <= tested_alerts, "every alert has a promtool unit test"
    measured = {rule["alert"]: THRESHOLD.sub("", rule["expr"].strip()) for rule in rules
                if not KUBE_STATE_METRICS.search(rule["expr"])}
    assert set(measured) == {"TodoHighErrorRate", "TodoHighLatency", "TodoTargetDown", "TodoDatabaseUnavailable", "TodoReminderLag"}

    prometheus = Prometheus(binary, tmp_path, {service: process.port for service, process in stack.items()})
    try:
        started = time.monotonic()
        use_the_stack(stack, 6)
        queries = dashboard_queries() + list(measured.values()) + [f'up{{namespace="{NAMESPACE}"}} == 1']
        results = prometheus.wait_until(queries, timeout=20)
        empty = [query for query, result in results.items() if not result]
        assert not empty, f"no data for: {empty}\n{prometheus.base}"
        up = {sample["metric"]["service"] for sample in results[f'up{{namespace="{NAMESPACE}"}} == 1']}
        assert up == set(stack)
        # the dashboard's variables: namespaces and services with request series
        series = requests.get(f"{prometheus.base}/api/v1/series", params={"match[]": "http_server_requests_total"}, timeout=5).json()
        assert {s["service"] for s in series["data"]} == set(stack)
        assert {s["namespace"] for s in series["data"]} == {NAMESPACE}
        # what the healthy stack must not trip: the database and scrape alerts
        for alert in ("TodoTargetDown", "TodoDatabaseUnavailable"):
            rule = next(rule for rule in rules if rule["alert"] == alert)
            assert prometheus.query(rule["expr"]) == [], alert
        assert time.monotonic() - started < 40
    finally:
        prometheus.stop()
