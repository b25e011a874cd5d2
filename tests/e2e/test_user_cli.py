"""`todo user`: an operator manages accounts on the configured database, while the API runs on it."""
import os
import subprocess
import time

import pytest
import requests

from server import BINARY

PASSWORD = "operator chose this"


def running(request, start, tmp_path, **environment):
    """A running API and a function that runs `todo user …` on its database."""
    url = request.getfixturevalue("postgres_url")[0] if request.param == "postgres" else f"sqlite://{tmp_path}/todo.db"
    api = start("api", DATABASE_URL=url, **environment)
    api.wait_ready()

    def user(*arguments, stdin=None, **extra):
        env = {"PATH": os.environ["PATH"], "DATABASE_URL": url, "PASSWORD_HASH_COST": "4", "LOG_LEVEL": "error", **extra}
        return subprocess.run([str(BINARY), "user", *arguments], input=stdin, env=env, capture_output=True, text=True, timeout=60)

    return api, user


@pytest.fixture(params=["sqlite", "postgres"])
def stack(request, start, tmp_path):
    return running(request, start, tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def invite_only(request, start, tmp_path):
    return running(request, start, tmp_path, SIGNUP="invite")


def log_in(api, password=PASSWORD):
    return requests.post(f"{api.base}/api/auth/login", json={"email": "olga@example.com", "password": password}, timeout=10)


def test_an_operator_creates_disables_resets_and_deletes_an_account(stack):
    api, user = stack
    assert user("create", "Olga@Example.com", "--name", "Olga", stdin=PASSWORD + "\n").returncode == 0
    assert user("create", "olga@example.com", stdin=PASSWORD + "\n").returncode != 0, "the e-mail is taken"
    assert user("create", "short@example.com", stdin="short\n").returncode != 0, "the password rules hold"
    listed = user("list").stdout.splitlines()
    assert listed[0].split("\t")[:4] == ["E-MAIL", "NAME", "CREATED", "STATUS"]
    assert listed[1].split("\t")[:2] == ["olga@example.com", "Olga"] and listed[1].split("\t")[3] == "active"

    token = log_in(api).json()["token"]
    me = lambda: requests.get(f"{api.base}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code
    assert me() == 200

    # Disabled: no log-in (said only to the right password), and the session stops within a second.
    assert user("disable", "olga@example.com").returncode == 0
    assert "disabled" in user("list").stdout
    refused = log_in(api)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_disabled"
    assert log_in(api, "a wrong password").status_code == 401
    time.sleep(1.2)
    assert me() == 401
    assert user("enable", "olga@example.com").returncode == 0
    assert me() == 200

    # A new password ends every session.
    assert user("reset-password", "olga@example.com", stdin="a brand new password\n").returncode == 0
    time.sleep(1.2)
    assert me() == 401
    assert log_in(api).status_code == 401
    assert log_in(api, "a brand new password").status_code == 200

    # Deleting asks for --yes, then removes the account.
    assert user("delete", "olga@example.com").returncode != 0
    assert log_in(api, "a brand new password").status_code == 200
    assert user("delete", "olga@example.com", "--yes").returncode == 0
    assert log_in(api, "a brand new password").status_code == 401
    unknown = user("disable", "olga@example.com")
    assert unknown.returncode == 64 and "no account has the e-mail olga@example.com" in unknown.stderr, unknown.stderr


def sign_up(api, email, invitation=None):
    body = {"email": email, "password": PASSWORD, **({"invitation": invitation} if invitation else {})}
    return requests.post(f"{api.base}/api/auth/signup", json=body, timeout=10)


def test_under_signup_invite_only_an_operators_link_signs_up_and_only_once(invite_only):
    api, user = invite_only
    refused = sign_up(api, "ivy@example.com")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "invitation_required"

    # Without PUBLIC_WEB_URL the command prints the path and says what to put in front of it.
    first = user("invite", "Ivy@Example.com")
    assert first.returncode == 0 and first.stdout.startswith("/signup?invite=") and "PUBLIC_WEB_URL" in first.stderr
    second = user("invite", "ivy@example.com", PUBLIC_WEB_URL="https://todo.example/")
    assert second.returncode == 0 and second.stdout.startswith("https://todo.example/signup?invite="), second.stdout
    replaced, token = first.stdout.strip().split("=", 1)[1], second.stdout.strip().split("=", 1)[1]
    assert sign_up(api, "ivy@example.com", replaced).json()["error"]["code"] == "invalid_token", "a new link replaces the old"
    assert sign_up(api, "eve@example.com", token).json()["error"]["code"] == "invalid_token", "the link is for one e-mail"
    created = sign_up(api, "ivy@example.com", token)
    assert created.status_code == 201 and created.json()["user"]["admin"] is False
    assert sign_up(api, "ivy@example.com", token).status_code == 400, "used once"
    taken = user("invite", "ivy@example.com")
    assert taken.returncode == 64 and "exists already" in taken.stderr, "the e-mail has an account"


def test_an_operator_makes_admins_who_manage_accounts(stack):
    api, user = stack
    made = user("create", "root@example.com", "--admin", stdin=PASSWORD + "\n")
    assert made.returncode == 0 and made.stdout.startswith("created admin root@example.com")
    assert user("create", "olga@example.com", stdin=PASSWORD + "\n").returncode == 0
    roles = {line.split("\t")[0]: line.split("\t")[4] for line in user("list").stdout.splitlines()[1:]}
    assert roles == {"root@example.com": "admin", "olga@example.com": "user"}

    root = requests.post(f"{api.base}/api/auth/login", json={"email": "root@example.com", "password": PASSWORD}, timeout=10).json()["token"]
    olga = log_in(api).json()["token"]
    accounts = lambda token: requests.get(f"{api.base}/api/admin/users", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert [item["email"] for item in accounts(root).json()["items"]] == ["root@example.com", "olga@example.com"]
    assert accounts(olga).status_code == 403
    assert user("admin", "olga@example.com").returncode == 0
    assert accounts(olga).status_code == 200
    assert user("admin", "olga@example.com", "--revoke").returncode == 0
    assert accounts(olga).status_code == 403
    unknown = user("admin", "nobody@example.com")
    assert unknown.returncode == 64 and "no account has the e-mail nobody@example.com" in unknown.stderr, unknown.stderr


def test_the_first_account_of_todo_serve_is_its_admin(start):
    serve = start("serve")
    serve.wait_ready()
    assert sign_up(serve, "first@example.com").json()["user"]["admin"] is True
    assert sign_up(serve, "second@example.com").json()["user"]["admin"] is False
