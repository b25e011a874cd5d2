"""Reset by e-mail, with a real SMTP server (aiosmtpd): the mail arrives, its link works once,
and the answer to "forgot password" is the same whether or not the e-mail has an account."""
import os
import ssl
import subprocess
import time

import pytest
import requests
from aiosmtpd.smtp import AuthResult

from smtp_sink import Mailbox, link_in, token_in
from server import BINARY, Client

WEB_URL = "https://todo.example"
NEW_PASSWORD = "chosen after a reset"


@pytest.fixture
def mailbox():
    with Mailbox() as box:
        yield box


@pytest.fixture(params=["sqlite", "postgres"])
def api(request, start, tmp_path, mailbox):
    """`todo api` that mails through `mailbox`, on a fresh database of each kind."""
    url = request.getfixturevalue("postgres_url")[0] if request.param == "postgres" else f"sqlite://{tmp_path}/todo.db"
    server = start("api", DATABASE_URL=url, SMTP_URL=f"smtp://127.0.0.1:{mailbox.port}", MAIL_FROM="Todo <todo@example.com>",
                   PUBLIC_WEB_URL=WEB_URL, SIGNUP_ADDRESS_LIMIT="100")
    server.wait_ready()
    server.database_url = url
    return server


def forgot(api, email, address=None):
    headers = {"X-Forwarded-For": address} if address else {}
    return requests.post(f"{api.base}/api/auth/forgot", json={"email": email}, headers=headers, timeout=10)


def reset(api, token, password=NEW_PASSWORD):
    return requests.post(f"{api.base}/api/auth/reset", json={"token": token, "new_password": password}, timeout=10)


def log_in(api, email, password):
    return requests.post(f"{api.base}/api/auth/login", json={"email": email, "password": password}, timeout=10)


def wait_for_log(server, text, timeout=15.0):
    """Waits until the server's log says `text` (mail goes out after the answer)."""
    deadline = time.monotonic() + timeout
    while text not in server.output():
        assert time.monotonic() < deadline, server.output()[-2000:]
        time.sleep(0.1)


def new_user(api):
    user = Client(api.base, email=f"reset-{time.monotonic_ns()}@example.com")
    user.email = user.session.get(f"{api.base}/api/auth/me", timeout=10).json()["email"]
    return user


def test_the_mail_arrives_and_its_link_works_once_and_ends_every_session(api, mailbox):
    user = new_user(api)
    answer = forgot(api, user.email.upper())
    assert answer.status_code == 202 and answer.json() == {"mail_configured": True}
    [message] = mailbox.wait_for(1)
    assert message["To"].addresses[0].addr_spec == user.email
    assert message["From"].addresses[0].addr_spec == "todo@example.com" and message["Subject"] == "Reset your Todo password"
    assert mailbox.envelopes[0] == ("todo@example.com", [user.email])
    assert link_in(message).startswith(WEB_URL + "/reset?token=")
    token = token_in(message)
    assert len(token) == 43

    assert reset(api, token).status_code == 204
    assert user.session.get(f"{api.base}/api/auth/me", timeout=10).status_code == 401, "the reset ends every session"
    assert log_in(api, user.email, "correct horse battery").status_code == 401
    assert log_in(api, user.email, NEW_PASSWORD).status_code == 200
    second = reset(api, token, "yet another password")
    assert second.status_code == 400 and second.json()["error"]["code"] == "invalid_token"
    assert log_in(api, user.email, NEW_PASSWORD).status_code == 200
    assert "token=" + token not in api.output(), "the link is never logged"


def test_an_unknown_email_gets_the_same_answer_and_no_mail(api, mailbox):
    user = new_user(api)
    unknown = forgot(api, "nobody-" + user.email)
    known = forgot(api, user.email)
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json()) == (202, {"mail_configured": True})
    mailbox.wait_for(1)
    assert mailbox.quiet() == 1
    assert [message["To"].addresses[0].addr_spec for message in mailbox.messages] == [user.email]


def test_mails_are_throttled_per_account_and_per_client_address(api, mailbox):
    user = new_user(api)
    # Per account: three an hour, whatever the client address.
    for attempt in range(5):
        assert forgot(api, user.email, f"198.51.100.{attempt + 1}").status_code == 202
    mailbox.wait_for(3)
    assert mailbox.quiet() == 3
    # Per client address: ten an hour, whichever accounts they are for.
    others = [new_user(api) for _ in range(11)]
    for other in others:
        assert forgot(api, other.email, "203.0.113.7").status_code == 202
    mailbox.wait_for(13)
    assert mailbox.quiet() == 13
    assert len([other for other in others if mailbox.mails_to(other.email)]) == 10


def test_a_password_change_voids_a_pending_link(api, mailbox):
    user = new_user(api)
    forgot(api, user.email)
    token = token_in(mailbox.wait_for(1)[0])
    changed = user.session.post(f"{api.base}/api/auth/password",
                                json={"current_password": "correct horse battery", "new_password": "changed meanwhile"}, timeout=10)
    assert changed.status_code == 204
    voided = reset(api, token)
    assert voided.status_code == 400 and voided.json()["error"]["code"] == "invalid_token"
    assert log_in(api, user.email, "changed meanwhile").status_code == 200


def test_a_reset_voids_the_other_pending_links(api, mailbox):
    user = new_user(api)
    forgot(api, user.email)
    forgot(api, user.email)
    first, second = (token_in(message) for message in mailbox.wait_for(2))
    assert first != second
    assert reset(api, second).status_code == 204
    assert reset(api, first, "another new password").json()["error"]["code"] == "invalid_token"


def test_the_operators_link_works_once(api, mailbox):
    user = new_user(api)
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": api.database_url, "LOG_LEVEL": "error"}
    run = lambda extra: subprocess.run([str(BINARY), "user", "reset-password", user.email, "--link"], env={**env, **extra},
                                       capture_output=True, text=True, timeout=60)
    unset = run({})
    assert unset.returncode != 0 and "PUBLIC_WEB_URL" in unset.stderr
    made = run({"PUBLIC_WEB_URL": "https://todo.example/"})
    assert made.returncode == 0, made.stderr
    link = made.stdout.strip().splitlines()[-1]
    assert link.startswith("https://todo.example/reset?token=")
    token = link.split("token=", 1)[1]
    assert reset(api, token).status_code == 204
    assert reset(api, token).status_code == 400
    assert mailbox.messages == [], "an operator's link sends no mail"


def test_a_failing_mail_server_changes_nothing_for_the_caller(start, tmp_path):
    closed = Mailbox()  # never started: its port refuses connections
    server = start("api", SMTP_URL=f"smtp://127.0.0.1:{closed.port}", MAIL_FROM="todo@example.com", PUBLIC_WEB_URL=WEB_URL)
    server.wait_ready()
    user = new_user(server)
    started = time.monotonic()
    assert forgot(server, user.email).status_code == 202
    assert time.monotonic() - started < 2
    wait_for_log(server, "password reset mail failed")
    assert "token=" not in server.output()


def test_without_smtp_forgot_says_so(start):
    server = start("api")
    server.wait_ready()
    user = new_user(server)
    answer = forgot(server, user.email)
    assert answer.status_code == 202 and answer.json() == {"mail_configured": False}


# ---------------------------------------------------------------------------------------------
# TLS: STARTTLS with AUTH, implicit TLS, and no password without TLS

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for localhost: the server's, and the CA file the API trusts."""
    directory = tmp_path_factory.mktemp("smtp-tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


def only(login, password):
    """An aiosmtpd authenticator that accepts one user name and password."""
    def check(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == (login.encode(), password.encode()))
    return check


def start_mailing_api(start, url, **env):
    server = start("api", SMTP_URL=url, MAIL_FROM="todo@example.com", PUBLIC_WEB_URL=WEB_URL, **env)
    server.wait_ready()
    return server


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_then_auth(start, certificate, mechanism):
    cert, context = certificate
    options = dict(tls_context=context, require_starttls=True, auth_required=True, auth_require_tls=True,
                   authenticator=only("mailer@example.com", "s3cret:pass"))
    if mechanism == "LOGIN":
        options["auth_exclude_mechanism"] = ["PLAIN"]
    with Mailbox(**options) as box:
        server = start_mailing_api(start, f"smtp://mailer%40example.com:s3cret%3Apass@localhost:{box.port}", SMTP_CA_FILE=str(cert))
        user = new_user(server)
        forgot(server, user.email)
        assert reset(server, token_in(box.wait_for(1)[0])).status_code == 204


def test_implicit_tls(start, certificate):
    cert, context = certificate
    with Mailbox(ssl_context=context) as box:
        server = start_mailing_api(start, f"smtps://127.0.0.1:{box.port}", SMTP_CA_FILE=str(cert))
        user = new_user(server)
        forgot(server, user.email)
        assert token_in(box.wait_for(1)[0])


def test_an_untrusted_certificate_gets_no_mail(start, certificate):
    _, context = certificate
    with Mailbox(ssl_context=context) as box:
        server = start_mailing_api(start, f"smtps://127.0.0.1:{box.port}")  # the system's CAs: the self-signed one is not among them
        forgot(server, new_user(server).email)
        wait_for_log(server, "password reset mail failed")
        assert box.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the point of this server
def test_no_password_goes_to_a_server_without_starttls(start):
    with Mailbox(auth_required=True, auth_require_tls=False, authenticator=only("mailer", "secret")) as box:
        server = start_mailing_api(start, f"smtp://mailer:secret@127.0.0.1:{box.port}")
        forgot(server, new_user(server).email)
        wait_for_log(server, "offers no STARTTLS")
        assert box.messages == []
