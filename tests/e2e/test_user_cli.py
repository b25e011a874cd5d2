"""`todo user`: an operator manages accounts on the configured database, while the API runs on it."""
import os
import subprocess
import time

import pytest
import requests

from server import BINARY

PASSWORD = "operator chose this"


@pytest.fixture(params=["sqlite", "postgres"])
def stack(request, start, tmp_path):
    """A running API and a function that runs `todo user …` on its database."""
    url = request.getfixturevalue("postgres_url")[0] if request.param == "postgres" else f"sqlite://{tmp_path}/todo.db"
    api = start("api", DATABASE_URL=url)
    api.wait_ready()

    def user(*arguments, stdin=None):
        env = {"PATH": os.environ["PATH"], "DATABASE_URL": url, "PASSWORD_HASH_COST": "4", "LOG_LEVEL": "error"}
        return subprocess.run([str(BINARY), "user", *arguments], input=stdin, env=env, capture_output=True, text=True, timeout=60)

    return api, user


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
    assert user("disable", "olga@example.com").returncode != 0, "no such account"
