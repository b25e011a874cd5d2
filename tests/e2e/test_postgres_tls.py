"""DATABASE_URL's sslmode and sslrootcert keep libpq's meanings against a real PostgreSQL.

Two PostgreSQL servers of our own accept TLS connections only (pg_hba `hostssl`), with
certificates from a throw-away test CA: one names 127.0.0.1 (SAN IP), the other only
"db.example". The backend connects to both as 127.0.0.1.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from server import free_port

OPENSSL = shutil.which("openssl")


def postgres_bin() -> str | None:
    candidates = [os.environ.get("TEST_POSTGRES_BIN", "")] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    return next((path for path in candidates if path and os.access(os.path.join(path, "initdb"), os.X_OK)), None)


def openssl(*arguments: str) -> None:
    subprocess.run([OPENSSL, *arguments], check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> Path:
    """A self-signed CA certificate (and its key next to it); returns the certificate."""
    certificate = directory / f"{name}.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", f"/CN={name}", "-keyout", str(directory / f"{name}.key"), "-out", str(certificate))
    return certificate


def make_server_certificate(directory: Path, ca: Path, name: str, subject_alt_name: str) -> tuple[Path, Path]:
    """A server certificate signed by `ca`, with the given subjectAltName; returns (certificate, key)."""
    key, request, certificate = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.pem"
    extensions = directory / f"{name}.ext"
    extensions.write_text(f"subjectAltName={subject_alt_name}\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(request))
    openssl("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca.with_suffix(".key")),
            "-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out", str(certificate))
    return certificate, key


class TLSOnlyPostgres:
    """A PostgreSQL on 127.0.0.1 that serves `certificate` and admits TLS connections only."""

    def __init__(self, binaries: str, certificate: Path, key: Path):
        self.binaries = binaries
        self.port = free_port()
        # Not under pytest's tmp_path: PostgreSQL refuses to run as root, and the unprivileged
        # user it then runs as cannot enter root's private temporary directories.
        self.directory = Path(tempfile.mkdtemp(prefix="todo-pgtls-"))
        self.run_as = []
        if os.getuid() == 0:
            self.run_as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.directory, "postgres")
        self.data = self.directory / "data"
        self.run(["initdb", "-D", str(self.data), "-U", "todo", "--auth=trust", "-E", "UTF8", "--no-locale"])
        for source, target in ((certificate, "server.crt"), (key, "server.key")):
            shutil.copy(source, self.data / target)
            os.chmod(self.data / target, 0o600)
            if self.run_as:
                shutil.chown(self.data / target, "postgres")
        (self.data / "pg_hba.conf").write_text("local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
        self.run(["pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-w", "-t", "30", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.directory} -c ssl=on", "start"])
        self.run(["createdb", "-h", str(self.directory), "-p", str(self.port), "-U", "todo", "todo"])

    def run(self, command: list[str]) -> str:
        command = [*self.run_as, os.path.join(self.binaries, command[0]), *command[1:]]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout

    def url(self, query: str = "") -> str:
        return f"postgres://todo@127.0.0.1:{self.port}/todo" + (f"?{query}" if query else "")

    def sql(self, statement: str) -> str:
        """Runs `statement` over the Unix socket (not TLS, not counted as a TCP client)."""
        return self.run(["psql", "-h", str(self.directory), "-p", str(self.port), "-U", "todo", "-d", "todo",
                         "-Atc", statement]).strip()

    def stop(self) -> None:
        subprocess.run([*self.run_as, os.path.join(self.binaries, "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """The test CA, another CA, and the two TLS-only servers."""
    binaries = postgres_bin()
    if not binaries or not OPENSSL:
        if os.environ.get("TODO_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL server binaries or openssl not found")
        pytest.skip("needs PostgreSQL's server binaries and openssl")
    directory = tmp_path_factory.mktemp("certificates")
    ca, other_ca = make_ca(directory, "todo-test-ca"), make_ca(directory, "other-ca")
    servers = []
    try:
        for name, subject_alt_name in (("ip", "IP:127.0.0.1"), ("named", "DNS:db.example")):
            servers.append(TLSOnlyPostgres(binaries, *make_server_certificate(directory, ca, name, subject_alt_name)))
        yield {"ca": ca, "other_ca": other_ca, "ip": servers[0], "named": servers[1]}
    finally:
        for server in servers:
            server.stop()


def start_api(start, url: str):
    return start("api", DATABASE_URL=url, DATABASE_TIMEOUT_SECONDS=2)


def assert_refuses_to_become_ready(server, reason: str, within: float = 15.0) -> None:
    """The process stays up but unready, and its log says why it cannot connect."""
    def failed_attempts() -> list[str]:
        return [line for line in server.output().splitlines() if "Connection creation failed" in line]

    deadline = time.monotonic() + within
    while time.monotonic() < deadline and not failed_attempts():
        assert server.process.poll() is None, server.output()
        time.sleep(0.1)
    assert failed_attempts() and reason in failed_attempts()[0], server.output()
    assert requests.get(server.base + "/readyz", timeout=5).status_code == 503


def test_require_encrypts_without_verifying_the_certificate(tls, start):
    server = start_api(start, tls["ip"].url("sslmode=require"))
    server.wait_ready()
    encrypted = tls["ip"].sql(
        "SELECT count(*), bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE client_addr IS NOT NULL")
    count, all_encrypted = encrypted.split("|")
    assert int(count) >= 1 and all_encrypted == "t"


def test_without_sslmode_tls_is_preferred_and_the_certificate_not_checked(tls, start):
    server = start_api(start, tls["ip"].url())
    server.wait_ready()  # libpq's default, prefer: the unknown CA does not stop it


def test_disable_is_refused_by_a_tls_only_server(tls, start):
    server = start_api(start, tls["ip"].url("sslmode=disable"))
    assert_refuses_to_become_ready(server, "no encryption")


def test_verify_ca_connects_with_the_test_ca_as_root_certificate(tls, start):
    server = start_api(start, tls["named"].url(f"sslmode=verify-ca&sslrootcert={tls['ca']}"))
    server.wait_ready()  # the certificate names db.example, not 127.0.0.1: verify-ca checks no name


def test_verify_ca_refuses_a_certificate_from_another_ca(tls, start):
    server = start_api(start, tls["ip"].url(f"sslmode=verify-ca&sslrootcert={tls['other_ca']}"))
    assert_refuses_to_become_ready(server, "CERTIFICATE_VERIFY_FAILED")


def test_verify_ca_without_root_certificate_trusts_only_the_system_store(tls, start):
    server = start_api(start, tls["ip"].url("sslmode=verify-ca"))
    assert_refuses_to_become_ready(server, "CERTIFICATE_VERIFY_FAILED")


def test_require_with_a_root_certificate_verifies_the_chain(tls, start):
    server = start_api(start, tls["ip"].url(f"sslmode=require&sslrootcert={tls['other_ca']}"))
    assert_refuses_to_become_ready(server, "CERTIFICATE_VERIFY_FAILED")


def test_verify_full_connects_when_the_certificate_names_the_host(tls, start):
    server = start_api(start, tls["ip"].url(f"sslmode=verify-full&sslrootcert={tls['ca']}"))
    server.wait_ready()


def test_verify_full_refuses_a_certificate_for_another_host(tls, start):
    server = start_api(start, tls["named"].url(f"sslmode=verify-full&sslrootcert={tls['ca']}"))
    assert_refuses_to_become_ready(server, "failedToValidateHostname")


def test_unknown_sslmode_stops_the_start_up_naming_database_url(tls, start):
    server = start_api(start, tls["ip"].url("sslmode=verify"))
    assert server.process.wait(15) != 0
    assert "DATABASE_URL sslmode 'verify'" in server.output()
