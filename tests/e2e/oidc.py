"""OpenID Connect providers for the single sign-on tests.

`MockProvider` is a real provider, `oidc-provider-mock` (authlib underneath) in a process of its
own: discovery, the authorization endpoint (a form where the test names the subject), the token
endpoint and signed ID tokens. It lets any client id and secret in and does not check PKCE.

`ForgingProvider` answers every code with the ID token a test asks for (another issuer, another
audience, a wrong nonce, a foreign key...): what a compromised or confused provider, or an attacker
in the middle, would send. Its honest token is accepted, so a refused forgery is refused for the
one claim the test changed.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from server import free_port


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class MockProvider:
    """`python -m oidc_provider_mock` on 127.0.0.1, stopped by its PID."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(self.issuer + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"oidc-provider-mock did not start: {log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)

    def add_user(self, subject: str, email: str, verified: bool = True, name: str | None = None) -> None:
        claims = {"email": email, "email_verified": verified}
        if name:
            claims["name"] = name
        response = requests.put(f"{self.issuer}/users/{quote(subject, safe='')}", json=claims, timeout=5)
        assert response.status_code == 204, response.text

    def authorize(self, authorization_url: str, subject: str) -> str:
        """Signs `subject` in at the provider's form; returns where the provider sends the browser back."""
        response = requests.post(authorization_url, data={"sub": subject}, allow_redirects=False, timeout=5)
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        return response.headers["Location"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class AuthorizationRequest:
    """A client's state, nonce and PKCE pair, and the authorization URL that carries them."""

    def __init__(self, start: dict, redirect_uri: str):
        self.state = secrets.token_urlsafe(16)
        self.nonce = secrets.token_urlsafe(16)
        self.verifier = secrets.token_urlsafe(32)
        self.redirect_uri = redirect_uri
        challenge = b64url(hashlib.sha256(self.verifier.encode()).digest())
        self.url = start["authorization_endpoint"] + "?" + urlencode({
            "response_type": "code", "client_id": start["client_id"], "redirect_uri": redirect_uri, "scope": start["scope"],
            "state": self.state, "nonce": self.nonce, "code_challenge": challenge, "code_challenge_method": "S256"})

    def body(self, callback: str, **changes) -> dict:
        """The body of `POST /api/auth/oidc` for the provider's answer `callback`."""
        query = parse_qs(urlsplit(callback).query)
        assert query["state"] == [self.state]
        body = {"code": query["code"][0], "code_verifier": self.verifier, "redirect_uri": self.redirect_uri, "nonce": self.nonce}
        body.update(changes)
        return body


def api_sign_in(api_base: str, provider: MockProvider, subject: str, session=None, **changes) -> requests.Response:
    """The whole flow without a browser, as the web UI runs it: the API's start, the provider's
    form, then the code to the API (with `changes` to the body, to tamper with it)."""
    http = session or requests
    start = http.get(api_base + "/api/auth/oidc", timeout=10).json()
    request = AuthorizationRequest(start, redirect_uri="http://127.0.0.1:1/auth/oidc/callback")
    callback = provider.authorize(request.url, subject)
    return http.post(api_base + "/api/auth/oidc", json=request.body(callback, **changes), timeout=10)


class ForgingProvider:
    """A provider whose token endpoint returns `claims` signed as `forge` says, on a thread."""

    def __init__(self, client_id: str, auth_methods: list[str] | None = None):
        self.key = RSAKey.generate_key(2048)
        self.kid = self.key.thumbprint()
        self.client_id = client_id
        # token_endpoint_auth_methods_supported; None leaves it out (client_secret_basic then).
        self.auth_methods = auth_methods
        # The last token request: its Authorization header and form fields.
        self.token_request: tuple[str | None, dict[str, list[str]]] = (None, {})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.id_token = ""
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def honest_claims(self, nonce: str, email: str) -> dict:
        now = int(time.time())
        return {"iss": self.issuer, "sub": "forged-" + email, "aud": self.client_id, "iat": now, "exp": now + 300,
                "nonce": nonce, "email": email, "email_verified": True}

    def sign(self, claims: dict, key: RSAKey | None = None, kid: str | None = None) -> None:
        """The next ID token: `claims` signed with `key` (default: the published one) under `kid`."""
        self.id_token = jwt.encode({"alg": "RS256", "kid": kid or self.kid}, claims, key or self.key)

    def rotate_key(self) -> None:
        """A new signing key under a new key id, published from now on (the old one no longer)."""
        self.key = RSAKey.generate_key(2048)
        self.kid = self.key.thumbprint()

    def unsigned(self, claims: dict) -> None:
        header = b64url(json.dumps({"alg": "none", "kid": self.kid}).encode())
        self.id_token = header + "." + b64url(json.dumps(claims).encode()) + "."

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    document = {"issuer": provider.issuer, "authorization_endpoint": provider.issuer + "/authorize",
                                "token_endpoint": provider.issuer + "/token", "jwks_uri": provider.issuer + "/jwks",
                                "id_token_signing_alg_values_supported": ["RS256"]}
                    if provider.auth_methods is not None:
                        document["token_endpoint_auth_methods_supported"] = provider.auth_methods
                    self._json(document)
                elif self.path == "/jwks":
                    self._json({"keys": [{**provider.key.as_dict(private=False), "kid": provider.kid, "use": "sig", "alg": "RS256"}]})
                else:
                    self._json({"error": "not_found"}, status=404)

            def do_POST(self):
                form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
                provider.token_request = (self.headers.get("Authorization"), form)
                self._json({"access_token": "at", "token_type": "Bearer", "id_token": provider.id_token})

            def _json(self, body, status=200):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
