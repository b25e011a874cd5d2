"""CalDAV (issue 22) against a real `todo api`, on SQLite and PostgreSQL, with the Python `caldav`
library as the client and `icalendar` as the reference parser: discovery from the base URL,
listing, creating, editing, completing a recurring task, deleting, incremental sync, stale
ETags, filters, and bad input that must leave nothing stored; and todoman with vdirsyncer, the
command-line tasks client, syncing both ways."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid

import caldav
import icalendar
import pytest
import requests

from server import Client

UTC = dt.timezone.utc


class Account:
    """A signed-up user with a personal token, the password a CalDAV client stores."""

    def __init__(self, base: str):
        self.api = Client(base)
        reply = self.api.session.post(f"{base}/api/tokens", json={"name": "caldav"}, timeout=10)
        assert reply.status_code == 201, reply.text
        self.secret = reply.json()["token"]
        self.base = base
        self.auth = (self.api.email, self.secret)
        self.calendar_url = f"{base}/dav/calendars/{self.api.user_id}/inbox/"

    def client(self) -> caldav.DAVClient:
        return caldav.DAVClient(url=self.base + "/", username=self.api.email, password=self.secret)

    def calendar(self):
        calendars = self.client().principal().calendars()
        assert len(calendars) == 1
        return calendars[0]

    def tasks(self) -> list[dict]:
        reply = self.api.session.get(self.api.url("/tasks?status=all&limit=100"), timeout=10)
        assert reply.status_code == 200, reply.text
        return reply.json()["items"]

    def dav(self, method: str, url: str, body: str | bytes = "", **headers) -> requests.Response:
        return requests.request(method, url, data=body.encode() if isinstance(body, str) else body, headers=headers, auth=self.auth, timeout=10)


@pytest.fixture(params=["sqlite", "postgres"])
def server(request, start):
    env = {}
    if request.param == "postgres":
        url, _ = request.getfixturevalue("postgres_url")
        env["DATABASE_URL"] = url
    process = start("api", **env)
    process.wait_ready()
    return process


def vtodo(uid: str, *lines: str) -> str:
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//caldav e2e//EN", "BEGIN:VTODO", f"UID:{uid}",
                        "DTSTAMP:20261201T080000Z", *lines, "END:VTODO", "END:VCALENDAR"])
    return body + "\r\n"


def test_discovery_from_the_base_url_finds_one_tasks_calendar(server):
    account = Account(server.base)
    well_known = requests.get(server.base + "/.well-known/caldav", allow_redirects=False, timeout=5)
    assert well_known.status_code == 301 and well_known.headers["Location"] == "/dav/"
    principal = account.client().principal()
    assert str(principal.url).endswith(f"/dav/principals/{account.api.user_id}/")
    calendars = principal.calendars()
    assert [str(c.url) for c in calendars] == [account.calendar_url]
    calendar = calendars[0]
    assert calendar.get_supported_components() == ["VTODO"]
    assert calendar.get_display_name() == "Inbox"
    props = account.dav("PROPFIND", account.calendar_url,
                        '<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/" xmlns:a="http://apple.com/ns/ical/">'
                        '<d:prop><d:sync-token/><cs:getctag/><a:calendar-color/></d:prop></d:propfind>', Depth="0")
    assert props.status_code == 207 and "HTTP/1.1 404" not in props.text
    assert "<d:sync-token>http://todo.invalid/ns/sync/" in props.text and "<a:calendar-color>#" in props.text
    options = requests.options(account.calendar_url, timeout=5)
    assert "calendar-access" in options.headers["DAV"]


def test_each_project_is_a_calendar_and_sub_tasks_are_related_to_their_parent(server):
    account = Account(server.base)
    created = account.api.session.post(account.api.url("/projects"), json={"name": "Garden", "color": "#16a34a"}, timeout=5)
    assert created.status_code == 201, created.text
    project = created.json()["id"]
    calendars = {c.get_display_name(): c for c in account.client().principal().calendars()}
    assert set(calendars) == {"Inbox", "Garden"}
    garden = calendars["Garden"]
    assert str(garden.url).endswith(f"/dav/calendars/{account.api.user_id}/{project}/")
    assert str(calendars["Inbox"].url) == account.calendar_url

    garden.save_todo(ical=vtodo("hedge", "SUMMARY:Cut the hedge"))
    garden.save_todo(ical=vtodo("shears", "SUMMARY:Sharpen the shears", "RELATED-TO;RELTYPE=PARENT:hedge"))
    tasks = {task["title"]: task for task in account.tasks()}
    assert tasks["Cut the hedge"]["project_id"] == project and tasks["Sharpen the shears"]["project_id"] == project
    assert tasks["Sharpen the shears"]["parent_id"] == tasks["Cut the hedge"]["id"]
    assert calendars["Inbox"].todos() == []
    [child] = [t for t in garden.todos() if str(t.icalendar_component["UID"]) == "shears"]
    related = child.icalendar_component["RELATED-TO"]
    assert str(related) == "hedge" and related.params.get("RELTYPE") == "PARENT"

    # A sub-task made through the API shows its parent too.
    from_api = account.api.session.post(account.api.url("/tasks"), json={"title": "Rake", "parent_id": tasks["Cut the hedge"]["id"]},
                                        timeout=5)
    assert from_api.status_code == 201 and from_api.json()["project_id"] == project
    [rake] = [t for t in garden.todos() if str(t.icalendar_component["SUMMARY"]) == "Rake"]
    assert str(rake.icalendar_component["RELATED-TO"]) == "hedge"


def test_basic_auth_takes_a_personal_token_never_the_password_and_is_throttled(start):
    server = start("api", LOGIN_ATTEMPT_LIMIT=3)
    server.wait_ready()
    account = Account(server.base)
    anonymous = requests.request("PROPFIND", server.base + "/dav/", timeout=5)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic realm=")
    with_password = requests.request("PROPFIND", server.base + "/dav/", auth=(account.api.email, "correct horse battery"), timeout=5)
    assert with_password.status_code == 401
    assert account.dav("PROPFIND", server.base + "/dav/", Depth="0").status_code == 207
    statuses = [requests.request("PROPFIND", server.base + "/dav/", auth=(account.api.email, f"todo_pat_guess{n}"), timeout=5).status_code
                for n in range(4)]
    assert statuses[:2] == [401, 401] and statuses[-1] == 429, statuses
    other = Account(server.base)
    assert other.dav("PROPFIND", account.calendar_url, Depth="0").status_code == 404


def test_create_list_edit_complete_recurring_and_delete_round_trip(server):
    account = Account(server.base)
    calendar = account.calendar()
    uid = str(uuid.uuid4())
    text = vtodo(
        uid, "SUMMARY:Water the plants", "DESCRIPTION:Kitchen\\, then balcony", "PRIORITY:2", "CATEGORIES:home,Garden Work",
        "DUE;TZID=Europe/Berlin:20261205T090000", "RRULE:FREQ=DAILY;INTERVAL=2;COUNT=3", "X-CLIENT-FLAG;X-PARAM=1:kept as is",
        "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Water", "TRIGGER:-PT30M", "END:VALARM",
        "BEGIN:X-CLIENT-THING", "X-INNER:value", "END:X-CLIENT-THING")
    created = calendar.save_todo(ical=text)
    assert str(created.url).endswith(f"/{uid}.ics")

    [task] = account.tasks()
    assert task["title"] == "Water the plants" and task["description"] == "Kitchen, then balcony"
    assert task["priority"] == "high" and task["tags"] == ["home", "garden-work"]
    assert task["due_at"] == "2026-12-05T08:00:00.000Z"  # 09:00 in Berlin
    assert task["remind_at"] == "2026-12-05T07:30:00.000Z"
    assert task["recurrence"] == {"frequency": "daily", "interval": 2, "count": 3, "timezone": "Europe/Berlin"}

    fetched = account.dav("GET", str(created.url))
    assert fetched.status_code == 200 and fetched.headers["ETag"] == f'"{task["id"]}-1"'
    assert "X-CLIENT-FLAG;X-PARAM=1:kept as is\r\n" in fetched.text
    assert "BEGIN:X-CLIENT-THING\r\nX-INNER:value\r\nEND:X-CLIENT-THING\r\n" in fetched.text
    todo = icalendar.Calendar.from_ical(fetched.text).walk("VTODO")[0]
    assert str(todo["UID"]) == uid and str(todo["SUMMARY"]) == "Water the plants"
    assert todo["DUE"].dt == dt.datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    assert todo["RRULE"]["FREQ"] == ["DAILY"] and todo["RRULE"]["COUNT"] == [3] and todo["RRULE"]["INTERVAL"] == [2]
    assert [str(c) for c in todo["CATEGORIES"].cats] == ["home", "garden-work"]

    # Edit through CalDAV, read through the API; edit through the API, read through CalDAV.
    [listed] = calendar.todos()
    listed.icalendar_component["SUMMARY"] = "Water all the plants"
    listed.save()
    assert account.tasks()[0]["title"] == "Water all the plants"
    assert account.api.session.patch(account.api.url(f"/tasks/{task['id']}"), json={"priority": "low"}, timeout=5).status_code == 200
    [listed] = calendar.todos()
    assert int(listed.icalendar_component["PRIORITY"]) == 9
    assert "X-CLIENT-FLAG;X-PARAM=1:kept as is" in listed.data

    # Completing the recurring task makes the next occurrence, as the API does.
    listed.complete()
    pending = calendar.todos()
    assert len(pending) == 1
    following = pending[0].icalendar_component
    assert str(following["SUMMARY"]) == "Water all the plants"
    assert following["DUE"].dt == dt.datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert following["RRULE"]["COUNT"] == [2]
    everything = calendar.todos(include_completed=True)
    assert len(everything) == 2
    assert len(account.tasks()) == 2

    # Delete, then the object is gone everywhere.
    pending[0].delete()
    assert len(account.tasks()) == 1
    assert len(calendar.todos(include_completed=True)) == 1


def test_incremental_sync_returns_only_changes_and_deletions(server):
    account = Account(server.base)
    calendar = account.calendar()
    keep = calendar.save_todo(ical=vtodo("keep-1", "SUMMARY:Keep"))
    change = calendar.save_todo(ical=vtodo("change-1", "SUMMARY:Change"))
    remove = calendar.save_todo(ical=vtodo("remove-1", "SUMMARY:Remove"))
    collection = calendar.objects_by_sync_token(load_objects=True)
    assert len(list(collection)) == 3
    first_token = collection.sync_token

    change.icalendar_component["SUMMARY"] = "Changed"
    change.save()
    remove.delete()
    from_api = account.api.session.post(account.api.url("/tasks"), json={"title": "From the API"}, timeout=5)
    assert from_api.status_code == 201

    updated, deleted = collection.sync()
    assert sorted(str(o.url).rsplit("/", 1)[1] for o in updated) == sorted(["change-1.ics", f"{from_api.json()['id']}.ics"])
    assert [str(o.url).rsplit("/", 1)[1] for o in deleted] == ["remove-1.ics"]
    assert collection.sync_token != first_token
    assert {str(o.icalendar_component["SUMMARY"]) for o in collection} == {"Keep", "Changed", "From the API"}
    assert str(keep.url) in {str(o.url) for o in collection}

    # Nothing changed since: an empty answer.
    assert collection.sync() == ([], [])
    # A token we never issued: the client must start over.
    stale = account.dav("REPORT", account.calendar_url,
                        '<d:sync-collection xmlns:d="DAV:"><d:sync-token>http://todo.invalid/ns/sync/999999999</d:sync-token>'
                        '<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>', Depth="1")
    assert stale.status_code == 403 and "valid-sync-token" in stale.text


def test_stale_etags_and_if_none_match_are_conflicts(server):
    account = Account(server.base)
    url = account.calendar_url + "etag-test.ics"
    created = account.dav("PUT", url, vtodo("etag-test", "SUMMARY:First"), **{"If-None-Match": "*", "Content-Type": "text/calendar"})
    assert created.status_code == 201
    again = account.dav("PUT", url, vtodo("etag-test", "SUMMARY:Again"), **{"If-None-Match": "*"})
    assert again.status_code == 412
    etag = account.dav("GET", url).headers["ETag"]
    assert account.dav("PUT", url, vtodo("etag-test", "SUMMARY:Second"), **{"If-Match": etag}).status_code == 204
    stale = account.dav("PUT", url, vtodo("etag-test", "SUMMARY:Lost update"), **{"If-Match": etag})
    assert stale.status_code == 412
    assert account.dav("DELETE", url, **{"If-Match": etag}).status_code == 412
    assert account.tasks()[0]["title"] == "Second"
    current = account.dav("GET", url).headers["ETag"]
    assert current != etag and account.dav("DELETE", url, **{"If-Match": current}).status_code == 204
    assert account.dav("GET", url).status_code == 404


def test_calendar_query_filters_on_completion_and_time_range(server):
    account = Account(server.base)
    calendar = account.calendar()
    calendar.save_todo(ical=vtodo("open-soon", "SUMMARY:Open soon", "DUE:20261210T090000Z"))
    calendar.save_todo(ical=vtodo("open-later", "SUMMARY:Open later", "DUE:20270310T090000Z"))
    calendar.save_todo(ical=vtodo("done", "SUMMARY:Done", "DUE:20261211T090000Z", "STATUS:COMPLETED", "COMPLETED:20261201T100000Z"))
    assert sorted(str(t.icalendar_component["SUMMARY"]) for t in calendar.todos()) == ["Open later", "Open soon"]
    assert len(calendar.todos(include_completed=True)) == 3
    december = calendar.search(todo=True, include_completed=True, start=dt.datetime(2026, 12, 1, tzinfo=UTC),
                               end=dt.datetime(2027, 1, 1, tzinfo=UTC))
    assert sorted(str(t.icalendar_component["SUMMARY"]) for t in december) == ["Done", "Open soon"]
    multiget = account.dav("REPORT", account.calendar_url,
                           '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/>'
                           f'<c:calendar-data/></d:prop><d:href>/dav/calendars/{account.api.user_id}/inbox/done.ics</d:href>'
                           f'<d:href>/dav/calendars/{account.api.user_id}/inbox/missing.ics</d:href></c:calendar-multiget>', Depth="1")
    assert multiget.status_code == 207
    assert "SUMMARY:Done" in multiget.text and "404 Not Found" in multiget.text


def test_bad_input_is_refused_and_nothing_is_stored(server):
    account = Account(server.base)
    url = account.calendar_url + "bad.ics"
    malformed = account.dav("PUT", url, "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nSUMMARY:no end\r\n")
    assert malformed.status_code == 400
    event = account.dav("PUT", url, "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:e1", "DTSTART:20261205T090000Z",
                                                  "SUMMARY:A meeting", "END:VEVENT", "END:VCALENDAR", ""]))
    assert event.status_code == 403
    no_uid = account.dav("PUT", url, "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nSUMMARY:x\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")
    assert no_uid.status_code == 400
    too_long_title = account.dav("PUT", url, vtodo("long", "SUMMARY:" + "x" * 300))
    assert too_long_title.status_code == 422
    huge = account.dav("PUT", url, vtodo("huge", "SUMMARY:Huge", "X-PADDING:" + "y" * 200_000))
    assert huge.status_code == 413
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
              '<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&lol2;</d:displayname></d:prop></d:propfind>')
    assert account.dav("PROPFIND", account.calendar_url, laughs, Depth="0").status_code == 400
    external = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                '<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&xxe;</d:displayname></d:prop></d:propfind>')
    reply = account.dav("PROPFIND", account.calendar_url, external, Depth="0")
    assert reply.status_code == 400 and "root:" not in reply.text
    undefined = '<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&xxe;</d:displayname></d:prop></d:propfind>'
    assert account.dav("PROPFIND", account.calendar_url, undefined, Depth="0").status_code == 400
    assert account.tasks() == []
    assert account.dav("GET", url).status_code == 404


def run(*command: str, stdin: str = "") -> str:
    done = subprocess.run([sys.executable, "-m", *command], input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_todoman_with_vdirsyncer_syncs_both_ways(server, tmp_path):
    """The command-line tasks client: vdirsyncer mirrors the calendar into files, todoman edits them."""
    account = Account(server.base)
    assert account.api.session.post(account.api.url("/tasks"), json={"title": "From the API", "due_at": "2026-12-10T09:00:00Z"},
                                    timeout=5).status_code == 201
    config = tmp_path / "vdirsyncer.conf"
    config.write_text(f"""[general]
status_path = "{tmp_path}/status/"

[pair tasks]
a = "local"
b = "remote"
collections = ["from b"]

[storage local]
type = "filesystem"
path = "{tmp_path}/calendars/"
fileext = ".ics"

[storage remote]
type = "caldav"
url = "{server.base}/"
username = "{account.api.email}"
password = "{account.secret}"
item_types = ["VTODO"]
""")
    todoman = tmp_path / "todoman.py"
    todoman.write_text(f'path = "{tmp_path}/calendars/*"\ndate_format = "%Y-%m-%d"\ntime_format = "%H:%M"\ndefault_list = "inbox"\n')

    def todo(*arguments: str) -> str:
        return run("todoman", "--config", str(todoman), *arguments)

    def listed() -> dict[str, dict]:
        return {item["summary"]: item for item in json.loads(todo("--porcelain", "list", "--status", "ANY"))}

    run("vdirsyncer", "-c", str(config), "discover", stdin="y\n" * 5)
    run("vdirsyncer", "-c", str(config), "sync")
    assert set(listed()) == {"From the API"}

    todo("new", "-l", "inbox", "--priority", "high", "From todoman")
    todo("done", str(listed()["From the API"]["id"]))
    run("vdirsyncer", "-c", str(config), "sync")
    tasks = {task["title"]: task for task in account.tasks()}
    assert set(tasks) == {"From the API", "From todoman"}
    assert tasks["From the API"]["completed"] and not tasks["From todoman"]["completed"]
    assert tasks["From todoman"]["priority"] == "high"

    renamed = account.api.session.patch(account.api.url(f"/tasks/{tasks['From todoman']['id']}"), json={"title": "Renamed on the web"},
                                        timeout=5)
    assert renamed.status_code == 200
    assert account.api.session.delete(account.api.url(f"/tasks/{tasks['From the API']['id']}"), timeout=5).status_code == 204
    run("vdirsyncer", "-c", str(config), "sync")
    assert set(listed()) == {"Renamed on the web"}


def test_the_web_uis_address_serves_caldav_too(start):
    """The web UI passes /dav/, /.well-known/caldav and PROPFIND on / to the API, so a client can
    be given the one address people already use; Settings shows it."""
    api = start("api")
    api.wait_ready()
    web = start("web", BACKEND_URL=api.base, DATABASE_URL=None, AUTH_SECRET=None)
    web.wait_ready()
    account = Account(api.base)
    well_known = requests.get(web.base + "/.well-known/caldav", allow_redirects=False, timeout=5)
    assert well_known.status_code == 301 and well_known.headers["Location"] == "/dav/"
    calendar = caldav.DAVClient(url=web.base + "/", username=account.api.email, password=account.secret).principal().calendars()[0]
    assert str(calendar.url) == f"{web.base}/dav/calendars/{account.api.user_id}/inbox/"
    calendar.save_todo(ical=vtodo("through-web", "SUMMARY:Through the web UI's address"))
    assert [task["title"] for task in account.tasks()] == ["Through the web UI's address"]
    [todo] = calendar.todos()
    assert todo.icalendar_component["UID"] == "through-web"
    anonymous = requests.request("PROPFIND", web.base + "/dav/", timeout=5)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
