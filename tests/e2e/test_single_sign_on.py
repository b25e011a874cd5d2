"""Single sign-on with OpenID Connect, end to end: real `todo api` and `todo web` processes, a real
provider (`oidc-provider-mock`), and a forging provider for the ID tokens no honest provider
sends. The browser's part runs here with `requests` (cookies and redirects are plain HTTP);
tests/web/test_single_sign_on_browser.py runs it in Chromium."""
from __future__ import annotations

import base64
import os
import subprocess
import time
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from joserfc.jwk import RSAKey

from oidc import AuthorizationRequest, ForgingProvider, MockProvider, api_sign_in
from server import BINARY, free_port

CLIENT_ID = "todo-e2e"


@pytest.fixture
def provider(tmp_path):
    provider = MockProvider(tmp_path / "provider.log")
    yield provider
    provider.stop()


@pytest.fixture
def forger():
    forger = ForgingProvider(CLIENT_ID)
    yield forger
    forger.stop()


def sso_settings(issuer: str, **more) -> dict:
    return {"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": "e2e-client-secret", **more}


def new_email() -> str:
    return f"sso-{uuid.uuid4().hex[:12]}@example.com"


def start_stack(start, issuer: str, **env):
    """`todo api` and `todo web` with single sign-on at `issuer`."""
    api = start("api", **sso_settings(issuer, **env))
    api.wait_ready()
    web = start("web", BACKEND_URL=api.base, OIDC_ISSUER=issuer, OIDC_NAME="Mock ID", **env)
    web.wait_ready()
    return api, web


def browser_sign_in(web, provider: MockProvider, subject: str, next_path: str = "/") -> tuple[requests.Session, requests.Response]:
    """What a browser does: start at the web UI, sign in at the provider, come back."""
    browser = requests.Session()
    started = browser.get(web.base + "/auth/oidc/start?" + urlencode({"next": next_path}), allow_redirects=False, timeout=10)
    assert started.status_code == 303, started.text
    callback = provider.authorize(started.headers["Location"], subject)
    return browser, browser.get(callback, allow_redirects=False, timeout=10)


def test_web_signs_in_through_the_provider_and_lands_on_the_page_asked_for(start, provider):
    api, web = start_stack(start, provider.issuer)
    email = new_email()
    provider.add_user("subject-1", email, name="Sam")
    login = requests.get(web.base + "/login?next=/settings", timeout=10)
    assert "Sign in with Mock ID" in login.text and "/auth/oidc/start?next=/settings" in login.text
    assert 'id="login-form"' in login.text, "password log-in stays on by default"

    browser = requests.Session()
    started = browser.get(web.base + "/auth/oidc/start?next=/settings", allow_redirects=False, timeout=10)
    authorization = urlsplit(started.headers["Location"])
    parameters = parse_qs(authorization.query)
    assert started.headers["Location"].startswith(provider.issuer + "/oauth2/authorize?")
    assert parameters["client_id"] == [CLIENT_ID] and parameters["response_type"] == ["code"]
    assert parameters["redirect_uri"] == [web.base + "/auth/oidc/callback"]
    assert parameters["code_challenge_method"] == ["S256"] and len(parameters["code_challenge"][0]) == 43
    assert len(parameters["state"][0]) >= 32 and len(parameters["nonce"][0]) >= 32
    cookie = started.headers["Set-Cookie"]
    assert cookie.startswith("todo_oidc=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=600" in cookie

    callback = provider.authorize(started.headers["Location"], "subject-1")
    finished = browser.get(callback, allow_redirects=False, timeout=10)
    assert finished.status_code == 303 and finished.headers["Location"] == "/settings", finished.text[:500]
    assert "todo_oidc=;" in finished.headers["Set-Cookie"] or "todo_oidc=\"\"" in finished.headers["Set-Cookie"]
    tasks = browser.get(web.base + "/", timeout=10)
    assert tasks.status_code == 200 and 'id="quick-add"' in tasks.text
    # The same flow again (the callback replayed) is refused: the flow's cookie is gone.
    assert browser.get(callback, allow_redirects=False, timeout=10).status_code == 400


def test_tampered_state_is_refused_by_the_web_ui(start, provider):
    _, web = start_stack(start, provider.issuer)
    provider.add_user("subject-2", new_email())
    browser = requests.Session()
    started = browser.get(web.base + "/auth/oidc/start", allow_redirects=False, timeout=10)
    callback = urlsplit(provider.authorize(started.headers["Location"], "subject-2"))
    query = parse_qs(callback.query)
    tampered = urlunsplit(callback._replace(query=urlencode({"code": query["code"][0], "state": query["state"][0][:-1] + "x"})))
    refused = browser.get(tampered, allow_redirects=False, timeout=10)
    assert refused.status_code == 400 and "did not start in this browser" in refused.text
    assert "todo_session" not in refused.headers.get("Set-Cookie", "")
    # Another browser (without the flow's cookie) cannot use the callback either.
    untampered = urlunsplit(callback)
    assert requests.get(untampered, allow_redirects=False, timeout=10).status_code == 400


def test_provider_error_is_shown_on_the_login_page(start, provider):
    _, web = start_stack(start, provider.issuer)
    browser = requests.Session()
    started = browser.get(web.base + "/auth/oidc/start", allow_redirects=False, timeout=10)
    denied = requests.post(started.headers["Location"], data={"action": "deny"}, allow_redirects=False, timeout=10)
    answer = browser.get(denied.headers["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 401 and "access_denied" in answer.text


def test_wrong_nonce_is_refused_by_the_api(start, provider):
    api = start("api", **sso_settings(provider.issuer))
    api.wait_ready()
    provider.add_user("subject-3", new_email())
    refused = api_sign_in(api.base, provider, "subject-3", nonce="not the nonce of the request")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_oidc"


def test_code_issued_to_another_client_is_refused(start, provider):
    api = start("api", **sso_settings(provider.issuer))
    api.wait_ready()
    provider.add_user("subject-4", new_email())
    start_document = requests.get(api.base + "/api/auth/oidc", timeout=10).json()
    request = AuthorizationRequest({**start_document, "client_id": "another-client"}, redirect_uri="http://127.0.0.1:9/cb")
    refused = requests.post(api.base + "/api/auth/oidc", json=request.body(provider.authorize(request.url, "subject-4")), timeout=10)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_oidc"


def test_closed_sign_up_refuses_a_new_email_but_links_an_account_the_operator_made(start, provider, tmp_path):
    api, web = start_stack(start, provider.issuer, SIGNUP="closed")
    stranger = new_email()
    provider.add_user("stranger", stranger)
    refused = api_sign_in(api.base, provider, "stranger")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "signup_closed"
    _, answer = browser_sign_in(web, provider, "stranger")
    assert answer.status_code == 403 and "sign-up is closed" in answer.text

    made = subprocess.run([str(BINARY), "user", "create", stranger], input="an operator's password\n", capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "DATABASE_URL": f"sqlite://{tmp_path}/todo.db", "LOG_LEVEL": "error"},
                          timeout=60)
    assert made.returncode == 0, made.stderr
    linked = api_sign_in(api.base, provider, "stranger")
    assert linked.status_code == 200 and linked.json()["user"]["email"] == stranger


def test_by_invitation_single_sign_on_makes_an_account_only_for_an_invited_email(start, provider, tmp_path):
    api, _ = start_stack(start, provider.issuer, SIGNUP="invite", PASSWORD_LOGIN="false")
    invited, stranger = new_email(), new_email()
    provider.add_user("invited", invited)
    provider.add_user("stranger", stranger)
    refused = api_sign_in(api.base, provider, "stranger")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "invitation_required"

    made = subprocess.run([str(BINARY), "user", "invite", invited], capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ["PATH"], "DATABASE_URL": f"sqlite://{tmp_path}/todo.db", "LOG_LEVEL": "error"})
    assert made.returncode == 0, made.stderr
    accepted = api_sign_in(api.base, provider, "invited")
    assert accepted.status_code == 200 and accepted.json()["user"]["email"] == invited
    # The invitation is used up; the account is linked and signs in again.
    assert api_sign_in(api.base, provider, "invited").status_code == 200
    assert api_sign_in(api.base, provider, "stranger").json()["error"]["code"] == "invitation_required"


def test_password_login_off_leaves_only_single_sign_on(start, provider):
    api, web = start_stack(start, provider.issuer, PASSWORD_LOGIN="false")
    for route, body in (("/api/auth/login", {"email": "a@example.com", "password": "whatever1"}),
                        ("/api/auth/signup", {"email": "a@example.com", "password": "whatever1"}),
                        ("/api/auth/forgot", {"email": "a@example.com"}),
                        ("/api/auth/reset", {"token": "x" * 43, "new_password": "whatever1"})):
        refused = requests.post(api.base + route, json=body, timeout=10)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "password_login_disabled", route
    login = requests.get(web.base + "/login", timeout=10)
    assert "Sign in with Mock ID" in login.text
    assert 'id="login-form"' not in login.text and 'type="password"' not in login.text and "/signup" not in login.text
    assert requests.get(web.base + "/signup", timeout=10).status_code == 403
    for page in ("/forgot", "/reset?token=x"):
        answer = requests.get(web.base + page, timeout=10)
        assert answer.status_code == 403 and "no password to reset" in answer.text, page
    email = new_email()
    provider.add_user("only-sso", email)
    browser, answer = browser_sign_in(web, provider, "only-sso")
    assert answer.status_code == 303
    me = browser.get(web.base + "/settings", timeout=10)
    assert me.status_code == 200 and email in me.text
    # Personal tokens keep working: made through the signed-in session, used without it.
    token = browser.post(web.base + "/api/tokens", json={"name": "script"},
                         headers={"X-CSRF-Token": csrf_of(browser, web)}, timeout=10)
    assert token.status_code == 201, token.text
    tasks = requests.get(api.base + "/api/me/tasks", headers={"Authorization": "Bearer " + token.json()["token"]}, timeout=10)
    assert tasks.status_code == 200


def csrf_of(browser: requests.Session, web) -> str:
    page = browser.get(web.base + "/", timeout=10).text
    marker = 'name="csrf-token" content="'
    return page.split(marker, 1)[1].split('"', 1)[0]


def test_password_login_off_without_single_sign_on_refuses_to_start(start):
    for role in ("api", "web"):
        process = start(role, PASSWORD_LOGIN="false")
        assert process.process.wait(timeout=20) != 0
        assert "PASSWORD_LOGIN=false needs single sign-on" in process.output()


def test_plain_http_issuer_is_refused_unless_on_loopback(start):
    process = start("api", **sso_settings("http://idp.example.com"))
    assert process.process.wait(timeout=20) != 0
    assert "OIDC_ISSUER must be the provider's https:// issuer URL" in process.output()


def test_without_single_sign_on_the_routes_say_so(start):
    api = start("api")
    api.wait_ready()
    web = start("web", BACKEND_URL=api.base)
    web.wait_ready()
    assert requests.get(api.base + "/api/auth/oidc", timeout=10).json()["error"]["code"] == "oidc_not_configured"
    body = {"code": "c", "code_verifier": "v", "redirect_uri": "http://x/cb", "nonce": "n"}
    refused = requests.post(api.base + "/api/auth/oidc", json=body, timeout=10)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "oidc_not_configured"
    assert "/auth/oidc/start" not in requests.get(web.base + "/login", timeout=10).text
    assert requests.get(web.base + "/auth/oidc/start", allow_redirects=False, timeout=10).status_code == 404


def test_unreachable_provider_is_a_bad_gateway(start):
    api = start("api", **sso_settings(f"http://127.0.0.1:{free_port()}"))
    api.wait_ready()
    started = requests.get(api.base + "/api/auth/oidc", timeout=30)
    assert started.status_code == 502 and started.json()["error"]["code"] == "oidc_unavailable"
    body = {"code": "c", "code_verifier": "v", "redirect_uri": "http://x/cb", "nonce": "n"}
    refused = requests.post(api.base + "/api/auth/oidc", json=body, timeout=30)
    assert refused.status_code == 502 and refused.json()["error"]["code"] == "oidc_unavailable"


def test_accounts_are_linked_on_postgresql(start, provider, postgres_url):
    url, _ = postgres_url
    api = start("api", DATABASE_URL=url, **sso_settings(provider.issuer))
    api.wait_ready()
    email = new_email()
    existing = requests.post(api.base + "/api/auth/signup", json={"email": email, "password": "a good password"}, timeout=10).json()
    provider.add_user("pg-subject", email)
    linked = api_sign_in(api.base, provider, "pg-subject")
    assert linked.status_code == 200 and linked.json()["user"]["id"] == existing["user"]["id"]
    provider.add_user("pg-subject", "changed-" + email)
    assert api_sign_in(api.base, provider, "pg-subject").json()["user"]["id"] == existing["user"]["id"]
    newcomer = new_email()
    provider.add_user("pg-newcomer", newcomer, name="New Comer")
    made = api_sign_in(api.base, provider, "pg-newcomer").json()["user"]
    assert made["email"] == newcomer and made["name"] == "New Comer" and made["id"] != existing["user"]["id"]
    assert api_sign_in(api.base, provider, "pg-newcomer").json()["user"]["id"] == made["id"]
    # No password was set: none logs in.
    assert requests.post(api.base + "/api/auth/login", json={"email": newcomer, "password": "a good password"},
                         timeout=10).status_code == 401


# Each forgery changes one thing of an honest ID token; the honest one itself is accepted.
FORGERIES = {
    "another issuer": lambda claims, forger: forger.sign({**claims, "iss": "http://127.0.0.1:1"}),
    "another audience": lambda claims, forger: forger.sign({**claims, "aud": "another-client"}),
    "an extra audience": lambda claims, forger: forger.sign({**claims, "aud": [CLIENT_ID, "another-client"]}),
    "another authorized party": lambda claims, forger: forger.sign({**claims, "azp": "another-client"}),
    "a wrong nonce": lambda claims, forger: forger.sign({**claims, "nonce": "replayed"}),
    "no nonce": lambda claims, forger: forger.sign({key: value for key, value in claims.items() if key != "nonce"}),
    "expired": lambda claims, forger: forger.sign({**claims, "iat": int(time.time()) - 3600, "exp": int(time.time()) - 600}),
    "a key not published": lambda claims, forger: forger.sign(claims, key=RSAKey.generate_key(2048)),
    "an unknown key id": lambda claims, forger: forger.sign(claims, key=RSAKey.generate_key(2048), kid="rotated-away"),
    "no signature": lambda claims, forger: forger.unsigned(claims),
    "an unverified e-mail": lambda claims, forger: forger.sign({**claims, "email_verified": False}),
}


def sign_in_with_forged_token(api, forger: ForgingProvider, forge) -> requests.Response:
    nonce = "the-nonce-of-this-sign-in"
    forge(forger.honest_claims(nonce, new_email()), forger)
    body = {"code": "any", "code_verifier": "v" * 43, "redirect_uri": "http://127.0.0.1:9/auth/oidc/callback", "nonce": nonce}
    return requests.post(api.base + "/api/auth/oidc", json=body, timeout=10)


@pytest.fixture
def forger_api(start, forger):
    api = start("api", **sso_settings(forger.issuer))
    api.wait_ready()
    return api


def test_honest_token_of_the_forging_provider_is_accepted(forger_api, forger):
    answer = sign_in_with_forged_token(forger_api, forger, lambda claims, forger: forger.sign(claims))
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_id_token_is_refused(forger_api, forger, forgery):
    answer = sign_in_with_forged_token(forger_api, forger, FORGERIES[forgery])
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_oidc"


def test_the_code_is_exchanged_with_the_client_secret_and_the_pkce_verifier(forger_api, forger):
    assert sign_in_with_forged_token(forger_api, forger, lambda claims, forger: forger.sign(claims)).status_code == 200
    authorization, form = forger.token_request
    assert authorization == "Basic " + base64.b64encode(f"{CLIENT_ID}:e2e-client-secret".encode()).decode()
    assert form["grant_type"] == ["authorization_code"] and form["code"] == ["any"] and form["code_verifier"] == ["v" * 43]
    assert form["redirect_uri"] == ["http://127.0.0.1:9/auth/oidc/callback"] and "client_secret" not in form


def test_a_provider_that_takes_only_client_secret_post_gets_the_secret_in_the_body(start):
    forger = ForgingProvider(CLIENT_ID, auth_methods=["client_secret_post"])
    try:
        api = start("api", **sso_settings(forger.issuer))
        api.wait_ready()
        assert sign_in_with_forged_token(api, forger, lambda claims, forger: forger.sign(claims)).status_code == 200
        authorization, form = forger.token_request
        assert authorization is None and form["client_id"] == [CLIENT_ID] and form["client_secret"] == ["e2e-client-secret"]
    finally:
        forger.stop()


def test_a_rotated_key_is_fetched_within_seconds_but_not_on_every_token(forger_api, forger):
    honest = lambda claims, forger: forger.sign(claims)  # noqa: E731
    assert sign_in_with_forged_token(forger_api, forger, honest).status_code == 200  # the keys are fetched now
    forger.rotate_key()
    # Right after a fetch, an unknown key id does not make the backend fetch again.
    assert sign_in_with_forged_token(forger_api, forger, honest).status_code == 400
    deadline = time.monotonic() + 20
    while (status := sign_in_with_forged_token(forger_api, forger, honest).status_code) != 200 and time.monotonic() < deadline:
        time.sleep(1)
    assert status == 200, "the rotated key was never fetched"
