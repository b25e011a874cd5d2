"""The web server over plain HTTP: security headers, the session cookie, CSRF, the /api proxy,
static assets, health, a backend that is down, and graceful shutdown."""
from __future__ import annotations

import gzip
import html
import re
import signal
import time

import pytest
import requests

from server import TodoProcess, free_port
from webui import PASSWORD, new_email

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def csrf_of(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def signed_up(base: str, **headers) -> tuple[requests.Session, requests.Response]:
    """A browser-like session that signed up through the form; returns it and the sign-up answer."""
    session = requests.Session()
    page = session.get(base + "/signup", headers=headers, timeout=10)
    # Passed by hand: a jar keeps `Secure` cookies (behind "HTTPS") away from plain HTTP.
    reply = session.post(base + "/signup", headers=headers, allow_redirects=False, timeout=10, cookies=page.cookies.get_dict(), data={
        "_csrf": csrf_of(page.text), "email": new_email(), "password": PASSWORD})
    assert reply.status_code == 303, reply.text
    return session, reply


def page_csrf(session: requests.Session, base: str) -> str:
    return csrf_of(session.get(base + "/", timeout=10).text)


def test_every_page_has_a_strict_content_security_policy_and_no_inline_script_or_style(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    session.post(stack.url("/tasks"), data={"_csrf": csrf, "text": "Check the headers #security"}, timeout=10)
    task_id = re.search(r'data-task-id="(\d+)"', session.get(stack.url("/"), timeout=10).text).group(1)
    for path in ["/", f"/tasks/{task_id}", "/settings", "/chat", "/no-such-page"]:
        reply = session.get(stack.url(path), timeout=10)
        assert reply.status_code == (404 if path == "/no-such-page" else 200), path
        assert reply.headers["Content-Security-Policy"] == CSP
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Referrer-Policy"] == "same-origin"
        assert reply.headers["X-Frame-Options"] == "DENY"
        assert "camera=()" in reply.headers["Permissions-Policy"]
        assert reply.headers["Cache-Control"] == "no-store"
        html = reply.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script on {path}"
        assert not re.search(r"\sstyle=|<style", html), f"inline style on {path}"
        assert not re.search(r"\son[a-z]+=", html), f"inline event handler on {path}"
        assert 'name="_csrf"' in html or path == "/no-such-page"


def test_the_session_cookie_is_http_only_same_site_lax_and_secure_behind_https(stack):
    _, reply = signed_up(stack.base)
    cookie = reply.headers["Set-Cookie"]
    assert cookie.startswith("todo_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    _, secure = signed_up(stack.base, **{"X-Forwarded-Proto": "https"})
    assert "Secure" in secure.headers["Set-Cookie"] and "HttpOnly" in secure.headers["Set-Cookie"]
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_forms_without_the_csrf_token_are_refused(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    for data in ({"text": "no token"}, {"text": "wrong token", "_csrf": "x" * len(csrf)}):
        reply = session.post(stack.url("/tasks"), data=data, allow_redirects=False, timeout=10)
        assert reply.status_code == 403 and "expired" in reply.text
    cross_site = session.post(stack.url("/tasks"), data={"_csrf": csrf, "text": "from elsewhere"},
                              headers={"Sec-Fetch-Site": "cross-site"}, allow_redirects=False, timeout=10)
    assert cross_site.status_code == 403
    # A log-in form from another visitor's page is refused too (no log-in CSRF).
    stranger = requests.Session()
    foreign = csrf_of(stranger.get(stack.url("/login"), timeout=10).text)
    assert requests.post(stack.url("/login"), data={"_csrf": foreign, "email": "a@b.co", "password": "x" * 8},
                         timeout=10).status_code == 403
    assert session.post(stack.url("/tasks"), data={"_csrf": csrf, "text": "with the token"},
                        allow_redirects=False, timeout=10).status_code == 303


def test_the_api_proxy_authenticates_with_the_cookie_and_wants_the_csrf_header_for_changes(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    created = session.post(stack.url("/api/me/tasks"), json={"title": "Through the proxy"},
                           headers={"X-CSRF-Token": csrf}, timeout=10)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] and created.headers["ETag"]
    task_id = created.json()["id"]
    listed = session.get(stack.url("/api/me/tasks"), timeout=10)
    assert listed.status_code == 200 and [task["title"] for task in listed.json()["items"]] == ["Through the proxy"]
    refused = session.patch(stack.url(f"/api/me/tasks/{task_id}"), json={"title": "no header"}, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    changed = session.patch(stack.url(f"/api/me/tasks/{task_id}"), json={"title": "with header"},
                            headers={"X-CSRF-Token": csrf}, timeout=10)
    assert changed.status_code == 200 and changed.json()["title"] == "with header"
    # Without a session the backend's own answer comes through.
    assert requests.get(stack.url("/api/me/tasks"), timeout=10).status_code == 401
    # A bearer token (a script, not a browser) needs no CSRF header.
    token = requests.post(stack.url("/api/tokens"), json={"name": "script"}, headers={"X-CSRF-Token": csrf},
                          cookies=session.cookies, timeout=10).json()["token"]
    scripted = requests.patch(stack.url(f"/api/me/tasks/{task_id}"), json={"title": "by script"},
                              headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert scripted.status_code == 200 and scripted.json()["title"] == "by script"
    # The proxy reaches /api only.
    assert session.get(stack.url("/api/%2e%2e/healthz"), timeout=10).status_code == 400


def test_static_assets_are_versioned_cached_for_a_year_and_gzipped(stack):
    html = requests.get(stack.url("/login"), timeout=10).text
    paths = re.findall(r'(/static/[a-z]+\.[0-9a-f]{10}\.(?:css|js|svg))', html)
    assert {path.rsplit(".", 1)[1] for path in paths} == {"css", "js", "svg"}
    for path in paths:
        plain = requests.get(stack.url(path), headers={"Accept-Encoding": "identity"}, timeout=10)
        assert plain.status_code == 200 and plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert "Content-Encoding" not in plain.headers
        packed = requests.get(stack.url(path), headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
        raw = packed.raw.read(decode_content=False)
        if path.endswith((".css", ".js")) and "theme" not in path:
            assert packed.headers["Content-Encoding"] == "gzip" and len(raw) < len(plain.content) / 2
        if packed.headers.get("Content-Encoding") == "gzip":
            assert gzip.decompress(raw) == plain.content
        again = requests.get(stack.url(path), headers={"If-None-Match": plain.headers["ETag"], "Accept-Encoding": "identity"}, timeout=10)
        assert again.status_code == 304
    # A page from an older release still gets today's file, but revalidated.
    stale = requests.get(stack.url("/static/app.0000000000.css"), timeout=10)
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", [
    "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/static/%252e%252e/etc/passwd", "/static//etc/passwd",
])
def test_static_paths_cannot_leave_the_embedded_assets(stack, path):
    # Sent as written: requests would otherwise normalise the dots away.
    import http.client
    host, port = stack.url("/").split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path)
    reply = connection.getresponse()
    body = reply.read()
    connection.close()
    assert reply.status in (400, 404)
    assert b"root:" not in body


def test_health_and_readiness(stack):
    assert requests.get(stack.url("/healthz"), timeout=10).json() == {"status": "ok"}
    assert requests.get(stack.url("/readyz"), timeout=10).json() == {"status": "ready"}


@pytest.fixture
def web_without_backend(tmp_path):
    """`todo web` whose backend is not running."""
    web = TodoProcess("web", {"BACKEND_URL": f"http://127.0.0.1:{free_port()}"}, tmp_path / "web.log")
    deadline = time.monotonic() + 15
    while True:
        try:
            if requests.get(web.base + "/healthz", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield web
    web.stop()


def test_when_the_backend_is_down_pages_say_so(web_without_backend, stack):
    base = web_without_backend.base
    ready = requests.get(base + "/readyz", timeout=10)
    assert ready.status_code == 503 and ready.json() == {"status": "backend unreachable"}
    session = requests.Session()
    login = session.get(base + "/login", timeout=10)
    assert login.status_code == 200
    reply = session.post(base + "/login", data={"_csrf": csrf_of(login.text), "email": "ann@example.com", "password": PASSWORD},
                         timeout=10)
    assert reply.status_code == 503 and "not answering" in reply.text and reply.headers["Retry-After"]
    # A signed-in visitor whose backend went away gets the same clear page, not a blank one.
    signed_in, _ = signed_up(stack.base)
    session.cookies.set("todo_session", signed_in.cookies["todo_session"])
    page = session.get(base + "/", timeout=10)
    assert page.status_code == 503 and "The task service is not answering" in page.text
    api = session.get(base + "/api/me/tasks", timeout=10)
    assert api.status_code == 503 and api.json()["error"]["code"] == "unavailable"


def test_the_web_server_stops_promptly_on_sigterm_with_a_live_stream_open(stack, tmp_path):
    web = TodoProcess("web", {"BACKEND_URL": stack.api.base}, tmp_path / "web.log")
    web.wait_ready()
    session, _ = signed_up(web.base)
    stream = session.get(web.base + "/api/me/events", stream=True, timeout=10)
    assert stream.status_code == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
    assert next(stream.iter_lines()) == b"retry: 3000"
    started = time.monotonic()
    assert web.stop(signal.SIGTERM, timeout=10) == 0
    assert time.monotonic() - started < 5
    stream.close()


def test_saving_an_edit_over_a_change_made_elsewhere_asks_first(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    created = session.post(stack.url("/api/me/tasks"), json={"title": "Draft the plan"}, headers={"X-CSRF-Token": csrf}, timeout=10)
    task_id = created.json()["id"]
    form_page = session.get(stack.url(f"/tasks/{task_id}"), timeout=10).text
    etag = html.unescape(re.search(r'name="etag" value="([^"]*)"', form_page).group(1))
    assert etag.startswith('"')  # the form carries the version it was made from
    # Another tab renames it meanwhile.
    session.patch(stack.url(f"/api/me/tasks/{task_id}"), json={"title": "Draft the plan (v2)"}, headers={"X-CSRF-Token": csrf}, timeout=10)
    fields = {"_csrf": csrf, "etag": etag, "title": "Draft the final plan", "description": "", "priority": "none", "tags": "",
              "due": "", "remind": "", "repeat": "", "interval": "1", "return_to": "/"}
    conflict = session.post(stack.url(f"/tasks/{task_id}"), data=fields, allow_redirects=False, timeout=10)
    assert conflict.status_code == 409 and "changed somewhere else" in conflict.text
    assert 'value="Draft the final plan"' in conflict.text
    assert session.get(stack.url(f"/api/me/tasks/{task_id}"), timeout=10).json()["title"] == "Draft the plan (v2)"
    fresh = html.unescape(re.search(r'name="etag" value="([^"]*)"', conflict.text).group(1))
    assert fresh != etag
    saved = session.post(stack.url(f"/tasks/{task_id}"), data={**fields, "etag": fresh}, allow_redirects=False, timeout=10)
    assert saved.status_code == 303
    assert session.get(stack.url(f"/api/me/tasks/{task_id}"), timeout=10).json()["title"] == "Draft the final plan"


def test_quick_add_explains_what_is_wrong(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    only_a_date = session.post(stack.url("/tasks"), data={"_csrf": csrf, "text": "tomorrow 9am"}, timeout=10)
    assert only_a_date.status_code == 422 and "not only when" in only_a_date.text
    assert 'value="tomorrow 9am"' in only_a_date.text
    as_script = session.post(stack.url("/tasks"), data={"_csrf": csrf, "text": "x" * 250}, headers={"Accept": "application/json"}, timeout=10)
    assert as_script.status_code == 422 and "Title" in as_script.json()["error"]["message"]


def test_quick_add_puts_a_task_in_the_project_named_after_a_plus(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    home = session.post(stack.url("/api/me/projects"), json={"name": "Home Office"}, headers={"X-CSRF-Token": csrf}, timeout=10)
    assert home.status_code == 201, home.text
    added = session.post(stack.url("/tasks"), data={"_csrf": csrf, "text": 'Buy paper +"home office" !high'}, allow_redirects=False, timeout=10)
    assert added.status_code == 303
    unknown = session.post(stack.url("/tasks"), data={"_csrf": csrf, "text": "Milk +Narnia"}, timeout=10)
    assert unknown.status_code == 422 and "no project named “Narnia”" in unknown.text
    listed = session.get(stack.url("/api/me/tasks"), timeout=10).json()["items"]
    assert [(t["title"], t["priority"], t["project_id"]) for t in listed] == [("Buy paper", "high", home.json()["id"])]


def test_the_sidebar_lists_the_projects_with_counts_and_each_opens_its_own_list(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    created = session.post(stack.url("/projects"), data={"_csrf": csrf, "name": "Groceries", "return_to": "/"}, allow_redirects=False, timeout=10)
    assert created.status_code == 303
    project_page = created.headers["Location"]
    groceries = re.search(r"project=(\d+)", project_page).group(1)
    page = session.get(stack.url(project_page), timeout=10).text
    assert '<h1 id="list-heading">Groceries</h1>' in page
    assert f'href="/?project={groceries}" class="sidebar-item" aria-current="page"' in page
    assert f'<input type="hidden" name="project" value="{groceries}">' in page
    session.post(stack.url("/tasks"), data={"_csrf": csrf, "text": "Milk", "project": groceries}, timeout=10)
    session.post(stack.url("/tasks"), data={"_csrf": csrf, "text": "Call mum yesterday"}, timeout=10)
    session.post(stack.url("/tasks"), data={"_csrf": csrf, "text": "Old bill", "project": groceries}, timeout=10)
    bill = [t for t in session.get(stack.url("/api/me/tasks"), timeout=10).json()["items"] if t["title"] == "Old bill"][0]
    session.patch(stack.url(f"/api/me/tasks/{bill['id']}"), json={"due_at": "2020-01-01T09:00:00Z"}, headers={"X-CSRF-Token": csrf}, timeout=10)
    page = session.get(stack.url(project_page), timeout=10).text
    titles = re.findall(r'class="task-title" href="[^"]*">([^<]+)</a>', page)
    assert sorted(titles) == ["Milk", "Old bill"]
    groceries_item = re.search(rf'<a href="/\?project={groceries}"[^>]*>(.*?)</a>', page).group(1)
    assert "1 overdue" in groceries_item and ">2<" in groceries_item
    fragment = session.get(stack.url(project_page), headers={"X-Fragment": "list"}, timeout=10).text
    refreshed = re.search(r"<template data-sidebar>(.*?)</template>", fragment, re.S).group(1)
    assert re.search(rf'<a href="/\?project={groceries}"[^>]*aria-current="page">.*?1 overdue.*?>2<', refreshed, re.S)
    inbox = re.findall(r'class="task-title" href="[^"]*">([^<]+)</a>', session.get(stack.url("/"), timeout=10).text)
    assert "Milk" in inbox  # the plain list shows every project's tasks
    today = session.get(stack.url("/?due=by-today"), timeout=10).text
    assert '<h1 id="list-heading">Today</h1>' in today and "Old bill" in today and "Milk" not in today
    empty_name = session.post(stack.url("/projects"), data={"_csrf": csrf, "name": "", "return_to": "/"}, timeout=10)
    assert empty_name.status_code == 422 and "Project:" in empty_name.text


def test_an_invitation_link_opens_after_log_in_and_joins_the_project_once(stack):
    """The link an owner gets (and which is mailed when the server sends mail) is what claims an
    invitation to an address that had no account: it survives the log-in, joins once, and the
    project opens."""
    owner, _ = signed_up(stack.base)
    csrf = page_csrf(owner, stack.base)
    trip = owner.post(stack.url("/api/me/projects"), json={"name": "Trip"}, headers={"X-CSRF-Token": csrf}, timeout=10).json()
    invited = owner.post(stack.url(f"/api/me/projects/{trip['id']}/invitations"), json={"email": new_email(), "role": "editor"},
                         headers={"X-CSRF-Token": csrf}, timeout=10)
    assert invited.status_code == 202, invited.text
    link = invited.json()["accept_url"]
    path = link[link.index("/invitations/"):]
    assert re.fullmatch(r"/invitations/[0-9a-f-]+\?token=[A-Za-z0-9_-]{43}", path), path

    # Someone new: the link leads to the log-in page, its sign-up link, and back to the invitation.
    invitee = requests.Session()
    away = invitee.get(stack.url(path), allow_redirects=False, timeout=10)
    assert away.status_code == 303 and away.headers["Location"].startswith("/login?next=/invitations/")
    login = invitee.get(stack.url(away.headers["Location"]), timeout=10)
    signup_href = html.unescape(re.search(r'href="(/signup\?next=[^"]+)"', login.text).group(1))
    form = invitee.get(stack.url(signup_href), timeout=10)
    assert f'name="next" value="{html.escape(path)}"' in form.text
    signed = invitee.post(stack.url("/signup"), allow_redirects=False, cookies=form.cookies.get_dict(), timeout=10, data={
        "_csrf": csrf_of(form.text), "email": new_email(), "password": PASSWORD, "next": path})
    assert signed.status_code == 303 and signed.headers["Location"] == path
    page = invitee.get(stack.url(path), timeout=10)
    assert page.status_code == 200 and "Join a shared project" in page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    action = re.search(r'action="(/invitations/[^"]+/accept)"', page.text).group(1)
    joined = invitee.post(stack.url(action), data={"_csrf": csrf_of(page.text), "token": token}, allow_redirects=False, timeout=10)
    assert joined.status_code == 303 and joined.headers["Location"] == f"/?project={trip['id']}"
    assert '<h1 id="list-heading">Trip</h1>' in invitee.get(stack.url(joined.headers["Location"]), timeout=10).text
    again = invitee.post(stack.url(action), data={"_csrf": csrf_of(page.text), "token": token}, allow_redirects=False, timeout=10)
    assert again.status_code == 403 and "already used" in again.text
    members = owner.get(stack.url(f"/api/me/projects/{trip['id']}/members"), timeout=10).json()
    assert [m["role"] for m in members["items"]] == ["owner", "editor"] and members["invitations"] == []


def join_through(session: requests.Session, base: str, link: str) -> None:
    """Accepts an invitation on the page its link opens."""
    page = session.get(base + link[link.index("/invitations/"):], timeout=10).text
    joined = session.post(base + re.search(r'action="(/invitations/[^"]+/accept)"', page).group(1), allow_redirects=False, timeout=10,
                          data={"_csrf": csrf_of(page), "token": re.search(r'name="token" value="([^"]+)"', page).group(1)})
    assert joined.status_code == 303, joined.text


def test_the_share_page_invites_changes_roles_and_lets_members_leave_but_never_the_last_owner(stack):
    owner, _ = signed_up(stack.base)
    csrf = page_csrf(owner, stack.base)
    created = owner.post(stack.url("/projects"), data={"_csrf": csrf, "name": "Trip", "return_to": "/"}, allow_redirects=False, timeout=10)
    project = re.search(r"project=(\d+)", created.headers["Location"]).group(1)
    listing = owner.get(stack.url(created.headers["Location"]), timeout=10).text
    assert f'href="/projects/{project}/share" id="share-link"' in listing
    assert 'id="share-link"' not in owner.get(stack.url("/"), timeout=10).text, "the Inbox is never shared"
    share = f"/projects/{project}/share"

    bad = owner.post(stack.url(f"{share}/invite"), data={"_csrf": csrf, "email": "nobody", "role": "editor"}, timeout=10)
    assert bad.status_code == 422 and "E-mail" in bad.text
    made = owner.post(stack.url(f"{share}/invite"), data={"_csrf": csrf, "email": new_email(), "role": "editor"}, timeout=10)
    assert made.status_code == 200 and "Invitation sent to" in made.text, "this stack mails"
    link = html.unescape(re.search(r'id="invitation-link" type="text" readonly value="([^"]+)"', made.text).group(1))
    assert "Waiting for an answer" in made.text

    member, _ = signed_up(stack.base)
    join_through(member, stack.base, link)
    member_id = member.get(stack.url("/api/auth/me"), timeout=10).json()["id"]

    owners_view = owner.get(stack.url(share), timeout=10).text
    assert "Waiting for an answer" not in owners_view and f'id="role-{member_id}"' in owners_view
    demoted = owner.post(stack.url(f"{share}/members/{member_id}/role"), data={"_csrf": csrf, "role": "viewer"}, allow_redirects=False, timeout=10)
    assert demoted.status_code == 303 and demoted.headers["Location"] == share
    roles = owner.get(stack.url(f"/api/me/projects/{project}/members"), timeout=10).json()["items"]
    assert [(m["user_id"], m["role"]) for m in roles][1] == (member_id, "viewer")
    last = owner.post(stack.url(f"{share}/members/me/remove"), data={"_csrf": csrf}, timeout=10)
    assert last.status_code == 409 and "needs an owner" in last.text

    viewers_view = member.get(stack.url(share), timeout=10).text
    assert 'id="share-invite-form"' not in viewers_view and "<select" not in viewers_view and "Viewer" in viewers_view
    member_csrf = csrf_of(viewers_view)
    refused = member.post(stack.url(f"{share}/invite"), data={"_csrf": member_csrf, "email": new_email(), "role": "owner"}, timeout=10)
    assert refused.status_code == 403 and 'id="share-invite-form"' not in refused.text and "owners may do this" in refused.text, "the share page says why"
    left = member.post(stack.url(f"{share}/members/me/remove"), data={"_csrf": member_csrf}, allow_redirects=False, timeout=10)
    assert left.status_code == 303 and left.headers["Location"] == "/"
    assert member.get(stack.url(share), timeout=10).status_code == 404


def test_sub_tasks_show_under_their_parent_with_progress_and_are_added_on_the_parents_page(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    api = {"X-CSRF-Token": csrf}
    trip = session.post(stack.url("/api/me/tasks"), json={"title": "Pack for the trip"}, headers=api, timeout=10).json()
    session.post(stack.url("/api/me/tasks"), json={"title": "Unrelated"}, headers=api, timeout=10).raise_for_status()
    socks = session.post(stack.url("/api/me/tasks"), json={"title": "Socks", "parent_id": trip["id"]}, headers=api, timeout=10).json()
    session.post(stack.url("/api/me/tasks"), json={"title": "Wool socks", "parent_id": socks["id"]}, headers=api, timeout=10).raise_for_status()
    session.patch(stack.url(f"/api/me/tasks/{socks['id']}/complete"), json={"completed": False}, headers=api, timeout=10).raise_for_status()

    page = session.get(stack.url("/?status=all&sort=created"), timeout=10).text
    rows = re.findall(r'<li class="task depth-(\d)[^"]*" id="task-\d+"[\s\S]*?class="task-title" href="[^"]*">([^<]+)</a>', page)
    assert rows == [("0", "Pack for the trip"), ("1", "Socks"), ("2", "Wool socks"), ("0", "Unrelated")], rows
    assert "0 of 1 sub-tasks done" in page and "☑ 0/1" in page
    assert "parent-link" not in page, "every parent is on the page"
    alone = session.get(stack.url("/?status=all&q=wool"), timeout=10).text
    assert re.findall(r'class="chip parent-link" href="(/tasks/\d+)"', alone) == [f"/tasks/{socks['id']}"], "its parent is not on the page"

    edit = session.get(stack.url(f"/tasks/{trip['id']}"), timeout=10).text
    assert re.findall(r'<ul class="subtasks"><li><a href="/tasks/(\d+)">([^<]+)</a>', edit) == [(socks["id"], "Socks")]
    added = session.post(stack.url(f"/tasks/{trip['id']}/subtasks"), data={"_csrf": csrf, "title": "Passport"}, allow_redirects=False, timeout=10)
    assert added.status_code == 303 and added.headers["Location"] == f"/tasks/{trip['id']}#subtasks"
    stored = {t["title"]: t for t in session.get(stack.url("/api/me/tasks?status=all"), timeout=10).json()["items"]}
    assert stored["Passport"]["parent_id"] == trip["id"] and stored["Passport"]["project_id"] == trip["project_id"]
    assert "(0 of 2 done)" in session.get(stack.url(f"/tasks/{trip['id']}"), timeout=10).text
    empty = session.post(stack.url(f"/tasks/{trip['id']}/subtasks"), data={"_csrf": csrf, "title": ""}, timeout=10)
    assert empty.status_code == 400 and "Title" in empty.text

    # Deleting a parent deletes its sub-tasks: the page asks first, and Cancel keeps everything.
    listing = session.get(stack.url("/?status=all&sort=created"), timeout=10).text
    parent_row = listing[listing.index(f'id="task-{trip["id"]}"'):listing.index(f'id="task-{socks["id"]}"')]
    assert f'action="/tasks/{trip["id"]}/delete">' in parent_row, "posted plainly, so the page can ask"
    asked = session.post(stack.url(f"/tasks/{trip['id']}/delete"), data={"_csrf": csrf, "return_to": "/"}, allow_redirects=False, timeout=10)
    assert asked.status_code == 200 and "Delete “Pack for the trip” and its 2 sub-tasks?" in html.unescape(asked.text)
    assert session.get(stack.url(f"/api/me/tasks/{trip['id']}"), timeout=10).status_code == 200, "nothing deleted yet"
    # The script's delete in the background (a row drawn before the sub-tasks came) is refused, not asked.
    background = session.post(stack.url(f"/tasks/{trip['id']}/delete"), data={"_csrf": csrf, "return_to": "/"},
                              headers={"Accept": "application/json"}, allow_redirects=False, timeout=10)
    assert background.status_code == 409 and "has sub-tasks now" in background.json()["error"]["message"], background.text
    assert session.get(stack.url(f"/api/me/tasks/{trip['id']}"), timeout=10).status_code == 200, "still nothing deleted"
    confirmed = session.post(stack.url(f"/tasks/{trip['id']}/delete"), data={"_csrf": csrf_of(asked.text), "confirmed": "yes", "return_to": "/"},
                             allow_redirects=False, timeout=10)
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == "/"
    left = [t["title"] for t in session.get(stack.url("/api/me/tasks?status=all"), timeout=10).json()["items"]]
    assert left == ["Unrelated"], left
    plain = session.post(stack.url(f"/tasks/{stored['Unrelated']['id']}/delete"), data={"_csrf": csrf, "return_to": "/"}, allow_redirects=False, timeout=10)
    assert plain.status_code == 303, "a task without sub-tasks goes at once"


def list_titles(page: str) -> list[str]:
    return re.findall(r'class="task-title" href="[^"]*">([^<]+)</a>', page)


def move_form(page: str, label: str) -> tuple[str, dict[str, str]]:
    """The action and fields of the move form whose button is named `label` ("Move “Milk” up")."""
    form = re.search(r'<form method="post" action="(/tasks/\d+/move)"(?:(?!</form>).)*?' + re.escape(label), page, re.S)
    assert form, f"no form {label!r}"
    fields = {name: html.unescape(value) for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(0))}
    return form.group(1), fields


def project_with_tasks(session: requests.Session, base: str, csrf: str, titles: list[str]) -> str:
    """A new project holding `titles` in this order; returns its page's path."""
    created = session.post(base + "/projects", data={"_csrf": csrf, "name": "Errands", "return_to": "/"}, allow_redirects=False, timeout=10)
    page = created.headers["Location"]
    project = re.search(r"project=(\d+)", page).group(1)
    for title in titles:
        added = session.post(base + "/tasks", data={"_csrf": csrf, "text": title, "project": project}, allow_redirects=False, timeout=10)
        assert added.status_code == 303, added.text
    return page


def test_move_buttons_reorder_a_projects_list_without_javascript(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    page_path = project_with_tasks(session, stack.base, csrf, ["Buy milk", "Post a letter", "Fix the bike"])
    page = session.get(stack.url(page_path), timeout=10).text
    assert list_titles(page) == ["Buy milk", "Post a letter", "Fix the bike"], "a project's list is in manual order"
    assert "Move “Buy milk” up" not in page and "Move “Fix the bike” down" not in page

    action, fields = move_form(page, "Move “Fix the bike” up")
    assert fields["return_to"] == page_path and fields["_csrf"] == csrf
    moved = session.post(stack.url(action), data=fields, allow_redirects=False, timeout=10)
    assert moved.status_code == 303 and moved.headers["Location"] == page_path
    page = session.get(stack.url(page_path), timeout=10).text
    assert list_titles(page) == ["Buy milk", "Fix the bike", "Post a letter"]
    action, fields = move_form(page, "Move “Buy milk” down")
    session.post(stack.url(action), data=fields, timeout=10).raise_for_status()
    assert list_titles(session.get(stack.url(page_path), timeout=10).text) == ["Fix the bike", "Buy milk", "Post a letter"]

    # Only a project's own list is in manual order: a search or another order has no move buttons.
    for path in (page_path + "&q=milk", page_path + "&sort=title", "/", "/?due=by-today"):
        assert "/move" not in session.get(stack.url(path), timeout=10).text, path


def test_the_move_route_refuses_a_bad_task_or_position_and_a_missing_csrf_token(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    page_path = project_with_tasks(session, stack.base, csrf, ["Buy milk", "Post a letter"])
    action, fields = move_form(session.get(stack.url(page_path), timeout=10).text, "Move “Post a letter” up")
    for position in ("soon", "", "nan", "inf", "1e999"):
        bad = session.post(stack.url(action), data={**fields, "position": position}, allow_redirects=False, timeout=10)
        assert bad.status_code == 400 and "position" in bad.text, (position, bad.status_code)
    for path in ("/tasks/999999999/move", "/tasks/milk/move", "/tasks/-1/move"):
        missing = session.post(stack.url(path), data=fields, allow_redirects=False, timeout=10)
        assert missing.status_code == 404 and "Not found" in missing.text, path
    no_token = session.post(stack.url(action), data={**fields, "_csrf": ""}, allow_redirects=False, timeout=10)
    assert no_token.status_code == 403 and "expired" in no_token.text
    assert list_titles(session.get(stack.url(page_path), timeout=10).text) == ["Buy milk", "Post a letter"], "nothing moved"


def test_a_viewer_of_a_shared_project_sees_no_move_buttons_and_is_refused_a_move(stack):
    owner, _ = signed_up(stack.base)
    csrf = page_csrf(owner, stack.base)
    page_path = project_with_tasks(owner, stack.base, csrf, ["Buy milk", "Post a letter"])
    project = re.search(r"project=(\d+)", page_path).group(1)
    action, fields = move_form(owner.get(stack.url(page_path), timeout=10).text, "Move “Post a letter” up")
    invited = owner.post(stack.url(f"/api/me/projects/{project}/invitations"), json={"email": new_email(), "role": "viewer"},
                         headers={"X-CSRF-Token": csrf}, timeout=10)
    assert invited.status_code == 202, invited.text
    viewer, _ = signed_up(stack.base)
    viewer_csrf = page_csrf(viewer, stack.base)
    join_through(viewer, stack.base, invited.json()["accept_url"])

    page = viewer.get(stack.url(page_path), timeout=10).text
    assert list_titles(page) == ["Buy milk", "Post a letter"] and "/move" not in page and "drag-handle" not in page
    refused = viewer.post(stack.url(action), data={**fields, "_csrf": viewer_csrf}, allow_redirects=False, timeout=10)
    assert refused.status_code == 403 and "That did not work" in refused.text, refused.status_code
    assert list_titles(owner.get(stack.url(page_path), timeout=10).text) == ["Buy milk", "Post a letter"]


def test_upcoming_shows_the_next_seven_days_under_a_heading_per_day(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    for text in ["Dentist tomorrow 10am", "Report in 3 days", "Party in 3 weeks", "Stretch tomorrow 8am"]:
        session.post(stack.url("/tasks"), data={"_csrf": csrf, "text": text, "tz": "UTC"}, timeout=10)
    page = session.get(stack.url("/?due=week"), timeout=10).text
    assert '<h1 id="list-heading">Upcoming</h1>' in page
    headings = re.findall(r'<h2 class="day-heading">([^<]+)</h2>', page)
    assert headings[0] == "Tomorrow" and len(headings) == 2
    titles = re.findall(r'class="task-title" href="[^"]*">([^<]+)</a>', page)
    assert titles == ["Stretch", "Dentist", "Report"]


@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0A/evil.example", "/%5C%5Cevil.example", "//evil.example",
                                    "/%5Cevil.example", "https://evil.example/", "/%20/evil.example", "/caf%C3%A9"])
def test_log_in_never_sends_the_browser_to_another_site(stack, target):
    """`next` after log-in: only a path of printable ASCII on this site (browsers drop a tab or a
    newline, so `/\\t/evil.example` is `//evil.example`, another site)."""
    email = new_email()
    requests.post(stack.api.base + "/api/auth/signup", json={"email": email, "password": PASSWORD}, timeout=10).raise_for_status()
    browser = requests.Session()
    page = browser.get(f"{stack.web.base}/login?next={target}", timeout=10)
    reply = browser.post(stack.web.base + "/login", allow_redirects=False, timeout=10, cookies=page.cookies.get_dict(), data={
        "_csrf": csrf_of(page.text), "email": email, "password": PASSWORD, "next": requests.utils.unquote(target)})
    assert reply.status_code == 303, reply.text
    assert reply.headers["Location"] == "/"


def test_the_assistant_page_asks_before_deleting_and_deletes_on_yes(stack):
    """Without JavaScript the page carries the conversation in a hidden field, so the "yes" that
    confirms a deletion reaches the proposal it answers."""
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    created = session.post(stack.url("/api/me/tasks"), json={"title": "old receipts"}, headers={"X-CSRF-Token": csrf}, timeout=10)
    task_id = created.json()["id"]
    asked = session.post(stack.url("/chat"), data={"_csrf": csrf, "message": f"delete task {task_id}"}, timeout=30)
    assert asked.status_code == 200 and "Reply “yes”" in asked.text
    conversation = re.search(r'name="conversation_id" value="([^"]+)"', asked.text).group(1)
    assert session.get(stack.url(f"/api/me/tasks/{task_id}"), timeout=10).status_code == 200
    done = session.post(stack.url("/chat"), data={"_csrf": csrf, "message": "yes", "conversation_id": conversation}, timeout=30)
    assert f"Deleted task {task_id}." in done.text
    assert session.get(stack.url(f"/api/me/tasks/{task_id}"), timeout=10).status_code == 404


def test_a_todoist_export_uploaded_in_settings_becomes_a_project_named_after_the_file(stack):
    session, _ = signed_up(stack.base)
    csrf = page_csrf(session, stack.base)
    todoist = ("TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\r\n"
               "section,Aisle 1,,,,,,,,\r\n"
               "task,Buy groceries @errands,,1,1,Sam (1),,,en,\r\n"
               "task,Milk,,4,2,Sam (1),,tomorrow 9am,en,\r\n")
    done = session.post(stack.url("/settings/import/todoist"), data={"_csrf": csrf}, timeout=30,
                        files={"file": ("Groceries.csv", todoist.encode(), "text/csv")})
    assert done.status_code == 200, done.text
    assert "Imported 2 tasks into the new project “Groceries”." in html.unescape(done.text)
    assert "Sections are not kept" in html.unescape(done.text), "what did not map is said"
    projects = session.get(stack.url("/api/me/projects"), timeout=10).json()["items"]
    groceries = next(p for p in projects if p["name"] == "Groceries")
    tasks = session.get(stack.url("/api/me/tasks"), params={"project": groceries["id"], "sort": "position"}, timeout=10).json()["items"]
    assert [t["title"] for t in tasks] == ["Buy groceries", "Milk"] and tasks[1]["parent_id"] == tasks[0]["id"]

    broken = session.post(stack.url("/settings/import/todoist"), data={"_csrf": csrf}, timeout=30,
                          files={"file": ("notes.csv", b"title,due\r\nMilk,tomorrow\r\n", "text/csv")})
    assert broken.status_code == 422 and "could not be imported" in html.unescape(broken.text) and "TYPE and CONTENT" in broken.text
    assert len(session.get(stack.url("/api/me/projects"), timeout=10).json()["items"]) == 2, "nothing made"
