"""Behind a real reverse proxy: Debian's nginx on 127.0.0.1 sends `/api/` to `todo api` and
everything else to `todo web` (which calls the backend itself), as the Helm chart's Ingress
does. Clients connect from their own loopback addresses (127.0.0.2, 127.0.0.3, ...), so each
one is a different client to nginx, which names it in `X-Forwarded-For`.

Before the client address was taken as the right-most entry that is not a trusted proxy, every
log-in through the web UI counted against the proxy's address: one attacker's failures locked
every user of the web UI out."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from server import SECRET, TodoProcess, free_port

NGINX = "/usr/sbin/nginx"
PASSWORD = "correct horse battery"
# Per account 3 failures in 15 min, so per client address 5 x 3 = 15.
LOGIN_ATTEMPT_LIMIT = 3
ADDRESS_LIMIT = 5 * LOGIN_ATTEMPT_LIMIT
SIGNUP_ADDRESS_LIMIT = 4
ATTACKER, VICTIM = "127.0.0.2", "127.0.0.3"


@pytest.fixture(scope="session")
def nginx_binary():
    """Debian's nginx, installed with apt when missing (as root). The image's policy-rc.d keeps
    the package from starting its own server."""
    if not Path(NGINX).exists():
        if os.geteuid() != 0:
            pytest.fail(f"{NGINX} is missing: run  apt-get install -y nginx")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
            subprocess.run(install, env=env, check=True, capture_output=True)
    return NGINX


NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
{user}
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        location /api/ {{ proxy_pass http://127.0.0.1:{api_port}; }}
        location / {{ proxy_pass http://127.0.0.1:{web_port}; }}
    }}
}}
"""


class Nginx:
    """nginx in the foreground (daemon off) as a child process, configured in `directory`."""

    def __init__(self, binary: str, directory: Path, api_port: int, web_port: int):
        directory.mkdir()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.directory = directory
        # Workers of a root master would run as nobody, which cannot enter pytest's private tmp.
        user = "user root;" if os.geteuid() == 0 else ""
        (directory / "nginx.conf").write_text(NGINX_CONF.format(
            dir=directory, user=user, port=self.port, api_port=api_port, web_port=web_port))
        self.process = subprocess.Popen(
            [binary, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-e", str(directory / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}: {self.errors()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.02)
        raise TimeoutError(f"nginx not listening after {timeout}s: {self.errors()}")

    def errors(self) -> str:
        log = self.directory / "error.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(params=["127.0.0.1,::1", "127.0.0.1/32,::1/128"], ids=["addresses", "cidr"])
def behind_nginx(nginx_binary, tmp_path, request):
    """`todo api` (SQLite) and `todo web`, both reached through nginx; the backend trusts
    127.0.0.1 only (written as an address, then as a CIDR range): nginx and the web UI, not the
    clients on 127.0.0.2 and up."""
    api = TodoProcess("api", {
        "AUTH_SECRET": SECRET, "DATABASE_URL": f"sqlite://{tmp_path}/todo.db", "ACCESS_LOG": "false",
        "LOGIN_ATTEMPT_LIMIT": str(LOGIN_ATTEMPT_LIMIT), "SIGNUP_ADDRESS_LIMIT": str(SIGNUP_ADDRESS_LIMIT),
        "TRUSTED_PROXIES": request.param,
    }, tmp_path / "api.log")
    processes = [api]
    try:
        api.wait_ready()
        web = TodoProcess("web", {"BACKEND_URL": api.base, "ACCESS_LOG": "false"}, tmp_path / "web.log")
        processes.append(web)
        web.wait_ready()
        nginx = Nginx(nginx_binary, tmp_path / "nginx", api.port, web.port)
        processes.append(nginx)
        nginx.wait_ready()
        yield nginx
    finally:
        for process in reversed(processes):
            process.stop()


class SourceAddressAdapter(HTTPAdapter):
    """Connects from a given local address, so that one machine can be many clients."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


class Browser:
    """A client of the web UI and the API through nginx, connecting from `address`."""

    def __init__(self, base: str, address: str, forged_forwarded_for: str | None = None):
        self.base = base
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.mount("http://", SourceAddressAdapter(address))
        if forged_forwarded_for:
            self.session.headers["X-Forwarded-For"] = forged_forwarded_for

    def form(self, path: str, fields: dict[str, str]) -> requests.Response:
        page = self.session.get(self.base + path, timeout=10)
        assert page.status_code == 200, page.text
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
        return self.session.post(self.base + path, data={"_csrf": csrf, **fields}, allow_redirects=False, timeout=30)

    def log_in_with_the_form(self, email: str, password: str) -> requests.Response:
        return self.form("/login", {"email": email, "password": password})

    def log_in_with_the_api(self, email: str, password: str) -> requests.Response:
        return self.session.post(self.base + "/api/auth/login", json={"email": email, "password": password}, timeout=30)

    def sign_up_with_the_form(self, email: str) -> requests.Response:
        return self.form("/signup", {"email": email, "password": PASSWORD})


def new_email() -> str:
    return f"proxy-{uuid.uuid4().hex[:10]}@example.com"


def failures_until_refused(attempt, limit: int = 3 * ADDRESS_LIMIT) -> tuple[int, int]:
    """Calls `attempt(email)` with a new e-mail each time (many accounts, so no account limit is
    reached) until it is refused; returns (answers 401 before that, the refusal's status)."""
    for checked in range(limit):
        status = attempt(new_email()).status_code
        if status != 401:
            return checked, status
    return limit, 401


def test_an_attacker_behind_nginx_spends_its_own_address_and_the_victim_still_logs_in(behind_nginx):
    base = behind_nginx.base
    victim_email = new_email()
    assert Browser(base, VICTIM).sign_up_with_the_form(victim_email).status_code == 303
    # The attacker names the victim's address in its own X-Forwarded-For: nginx appends the
    # attacker's real address after it, and that is the one counted.
    attacker = Browser(base, ATTACKER, forged_forwarded_for=VICTIM)
    through_the_form = failures_until_refused(lambda email: attacker.log_in_with_the_form(email, "wrong guess"))
    through_the_api = failures_until_refused(lambda email: attacker.log_in_with_the_api(email, "wrong guess"))

    victim = Browser(base, VICTIM)
    form = victim.log_in_with_the_form(victim_email, PASSWORD)
    assert form.status_code == 303 and "todo_session" in form.cookies, f"{form.status_code}: {form.text[-500:]}"
    assert victim.session.get(base + "/", timeout=10).status_code == 200
    api = victim.log_in_with_the_api(victim_email, PASSWORD)
    assert api.status_code == 200, api.text

    # The attacker's own address is spent, whichever way it comes in.
    assert through_the_form == (ADDRESS_LIMIT, 429), through_the_form
    assert through_the_api == (0, 429), through_the_api
    refused = attacker.log_in_with_the_form(new_email(), "wrong guess")
    assert refused.status_code == 429 and "Too many failed attempts" in refused.text


def test_sign_ups_through_nginx_are_limited_per_client_not_per_proxy(behind_nginx):
    base = behind_nginx.base
    attacker = Browser(base, ATTACKER)
    statuses = [attacker.sign_up_with_the_form(new_email()).status_code for _ in range(SIGNUP_ADDRESS_LIMIT + 1)]
    api = attacker.session.post(base + "/api/auth/signup", json={"email": new_email(), "password": PASSWORD}, timeout=10)
    assert Browser(base, VICTIM).sign_up_with_the_form(new_email()).status_code == 303
    assert statuses[:SIGNUP_ADDRESS_LIMIT] == [303] * SIGNUP_ADDRESS_LIMIT
    assert statuses[SIGNUP_ADDRESS_LIMIT] == 429, statuses
    assert api.status_code == 429, api.text
