"""Moving tasks in and out through real `todo` processes, on SQLite and PostgreSQL: the export
(version 2: projects, sub-tasks, order) into another account by the API and by the CLI, and a
Todoist project's CSV export into a new project, all or nothing."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

from server import BINARY, Client

TODOIST = (
    "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,DURATION,DURATION_UNIT,DEADLINE,DEADLINE_LANG\r\n"
    "section,Shopping,,,,,,,,,,,,\r\n"
    "task,Buy groceries @errands,,1,1,Sam (1),,every friday,en,Europe/Berlin,,,,\r\n"
    "task,Milk,\"2 litres, oat\",4,2,Sam (1),Kim (2),,en,,,,,\r\n"
    "note,Check the carton,,,,Sam (1),,,,,,,,\r\n"
    "task,Oat or soy?,,3,3,Sam (1),,,en,,,,,\r\n"
    "task,File taxes,,2,1,Sam (1),,2027-04-30,en,UTC,,,,\r\n"
)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")[0]
    return f"sqlite://{tmp_path}/todo.db"


def projects(user):
    return {p["name"]: p for p in user.session.get(f"{user.base}/api/me/projects", timeout=10).json()["items"]}


def tasks_of(user, project_id):
    reply = user.session.get(f"{user.base}/api/me/tasks", params={"project": project_id, "limit": 100, "sort": "position"}, timeout=10)
    reply.raise_for_status()
    return reply.json()["items"]


def test_a_todoist_project_becomes_a_project_with_sub_tasks_and_a_report(start, database):
    server = start("api", DATABASE_URL=database)
    server.wait_ready()
    user = Client(server.base)
    reply = user.session.post(f"{server.base}/api/me/import/todoist", params={"name": "Groceries", "timezone": "Europe/Berlin"},
                              data=TODOIST.encode(), headers={"Content-Type": "text/csv"}, timeout=30)
    assert reply.status_code == 201, reply.text
    made = reply.json()
    assert made["project"]["name"] == "Groceries" and made["project"]["role"] == "owner" and made["imported"] == 4
    assert made["project"]["open_count"] == 4
    assert any(line.startswith("Sections are not kept") and "(row 2)" in line for line in made["not_mapped"]), made["not_mapped"]
    assert any(line.startswith("Assignees (RESPONSIBLE) are not imported") and "(row 4)" in line for line in made["not_mapped"])

    stored = {t["title"]: t for t in tasks_of(user, made["project"]["id"])}
    assert list(stored) == ["Buy groceries", "Milk", "Oat or soy?", "File taxes"], "in the file's order"
    groceries, milk, oat = stored["Buy groceries"], stored["Milk"], stored["Oat or soy?"]
    assert groceries["parent_id"] is None and milk["parent_id"] == groceries["id"] and oat["parent_id"] == milk["id"]
    assert (groceries["priority"], milk["priority"], oat["priority"], stored["File taxes"]["priority"]) == ("high", "none", "low", "medium")
    assert groceries["tags"] == ["errands"] and groceries["recurrence"]["frequency"] == "weekly"
    assert milk["description"] == "2 litres, oat\n\nCheck the carton"
    assert stored["File taxes"]["due_at"].startswith("2027-04-30")


def test_a_bad_todoist_file_or_one_past_the_quota_makes_nothing(start, database):
    server = start("api", DATABASE_URL=database, TASKS_PER_USER_LIMIT="4")
    server.wait_ready()
    user = Client(server.base)
    url = f"{server.base}/api/me/import/todoist"
    before = projects(user)
    broken = user.session.post(url, data=TODOIST + 'task,"unclosed,,,1\r\n', timeout=30)
    assert broken.status_code == 422 and broken.json()["error"]["details"][0]["field"] == "file"
    not_todoist = user.session.post(url, data="title,due\r\nMilk,tomorrow\r\n", timeout=30)
    assert not_todoist.status_code == 422 and "TYPE and CONTENT" in not_todoist.text
    zone = user.session.post(url, params={"timezone": "Mars/Olympus"}, data=TODOIST, timeout=30)
    assert zone.status_code == 422 and zone.json()["error"]["details"][0]["field"] == "timezone"
    user.session.post(f"{server.base}/api/me/tasks", json={"title": "one of mine"}, timeout=10).raise_for_status()
    over = user.session.post(url, data=TODOIST, timeout=30)
    assert over.status_code == 409 and over.json()["error"]["code"] == "quota_exceeded"
    assert list(projects(user)) == list(before) == ["Inbox"], "no project is left behind by a refused import"


def test_an_export_moves_projects_sub_tasks_and_order_to_another_account(start, database, tmp_path):
    server = start("api", DATABASE_URL=database)
    server.wait_ready()
    ann = Client(server.base)
    api = f"{server.base}/api/me"
    trip = ann.session.post(f"{api}/projects", json={"name": "Trip", "color": "#336699"}, timeout=10).json()
    pack = ann.session.post(f"{api}/tasks", json={"title": "Pack", "project_id": trip["id"]}, timeout=10).json()
    ann.session.post(f"{api}/tasks", json={"title": "Book flights", "project_id": trip["id"], "position": 1}, timeout=10).raise_for_status()
    socks = ann.session.post(f"{api}/tasks", json={"title": "Socks", "parent_id": pack["id"]}, timeout=10).json()
    ann.session.post(f"{api}/tasks", json={"title": "Wool socks", "parent_id": socks["id"]}, timeout=10).raise_for_status()
    ann.session.post(f"{api}/tasks", json={"title": "Milk"}, timeout=10).raise_for_status()
    export = ann.session.get(f"{api}/export", timeout=30).json()
    assert export["version"] == 2 and [p["name"] for p in export["projects"]] == ["Inbox", "Trip"]

    def shape(user):
        named = projects(user)
        rows = []
        for name, project in named.items():
            titles = {t["id"]: t["title"] for t in tasks_of(user, project["id"])}
            rows += [(name, t["title"], titles.get(t["parent_id"])) for t in tasks_of(user, project["id"])]
        return sorted(named), rows

    bob = Client(server.base)
    imported = bob.session.post(f"{server.base}/api/me/import", json=export, timeout=30)
    assert imported.status_code == 200 and imported.json() == {"imported": 5, "projects": 1}
    assert shape(bob) == shape(ann)
    assert shape(ann)[1][1:] == [("Trip", "Book flights", None), ("Trip", "Pack", None), ("Trip", "Socks", "Pack"), ("Trip", "Wool socks", "Socks")]

    # The operator's commands write and read the same document.
    cli = {"PATH": os.environ["PATH"], "DATABASE_URL": database, "LOG_LEVEL": "error"}
    file = tmp_path / "ann.json"
    subprocess.run([str(BINARY), "export", "--email", ann.email, "--output", str(file)], env=cli, check=True, timeout=60)
    assert json.loads(file.read_text())["projects"][1]["name"] == "Trip"
    carol = Client(server.base)
    done = subprocess.run([str(BINARY), "import", "--email", carol.email, str(file)], env=cli, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "imported 5 tasks and made 1 project" in done.stdout, done.stderr
    assert shape(carol) == shape(ann)
