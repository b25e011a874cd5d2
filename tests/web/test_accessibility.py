"""Accessibility: every page of the web UI, in the light and the dark theme, at desktop and at phone
width, has no serious or critical violation under axe-core (the copy axe-selenium-python bundles).

One browser walks every page in each of the four combinations and audits each; the test fails
once at the end, listing every violation with its rule, impact and the elements at fault, so that
one run shows all there is to fix."""
from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from axe_selenium_python import Axe
from selenium.webdriver.common.keys import Keys

from webhook_receiver import Receiver
from webui import BROWSER_TIME_ZONE, UI, api_session, new_email, run_user_command

SIZES = {"desktop": (1280, 860), "phone": (390, 844)}
THEMES = ("light", "dark")
GRAVE = ("serious", "critical")

# Nodes axe reports that are not faults, by (rule, CSS target), each with the reason.
FALSE_POSITIVES: dict[tuple[str, str], str] = {
    # The e-mail field of log-in, sign-up and "forgot": <input type="email" autocomplete="username">.
    # The account's name is its e-mail, and "username" is what password managers look for; HTML
    # allows username on type=email (whatwg/html 5bad12a), and axe-core accepts it since 4.3
    # (dequelabs/axe-core#2727). The 3.1 that axe-selenium-python bundles predates that.
    ("autocomplete-valid", "#email"): "username on type=email is valid HTML; axe-core < 4.3 says otherwise",
}

RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(results => done(results.violations), error => done({error: String(error)}));
"""


def seed(stack, email: str, receiver: Receiver) -> dict[str, str]:
    """Tasks that show every kind of chip (overdue, today, priorities, tags, repeat, reminder, done),
    an API token, two webhooks with deliveries (one answered, one refused), and e-mail reminders on."""
    api = api_session(stack, email)
    base = stack.api.base + "/api/me"
    now = datetime.now(timezone.utc)
    # Due today in the browser's zone, whatever the hour: the green "today" chip.
    tonight = datetime.now(ZoneInfo(BROWSER_TIME_ZONE)).replace(hour=23, minute=59, second=0, microsecond=0)

    def at(delta: timedelta, start: datetime = now) -> str:
        return (start + delta).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def add(**task) -> str:
        reply = api.post(base + "/tasks", json=task, timeout=10)
        assert reply.status_code == 201, reply.text
        return reply.json()["id"]

    webhooks = []
    for url in (receiver.base + "/audit", "http://127.0.0.1:9/refused"):
        reply = api.post(base + "/webhooks", json={"url": url, "events": ["task.created"]}, timeout=10)
        assert reply.status_code == 201, reply.text
        webhooks.append(reply.json()["id"])
    ids = {
        "overdue": add(title="File taxes", priority="high", tags=["money"], due_at=at(-timedelta(days=3))),
        "full": add(title="Pay rent", description="Transfer from the joint account.", priority="medium", tags=["home", "money"],
                    due_at=at(timedelta(0), tonight), remind_at=at(-timedelta(hours=1), tonight), recurrence={"frequency": "monthly"}),
        "low": add(title="Call mom", priority="low", tags=["family"], due_at=at(timedelta(days=2))),
        "done": add(title="Buy milk", priority="high", tags=["errands"], completed=True),
    }
    add(title="Read a book")
    project = api.post(base + "/projects", json={"name": "Garden", "color": "#2e7d32"}, timeout=10)
    assert project.status_code == 201, project.text
    ids["project"] = project.json()["id"]
    add(title="Prune the roses", project_id=ids["project"], due_at=at(-timedelta(days=1)))
    # A second task, so that the project's list shows the manual order's move buttons and handles.
    ids["bulbs"] = add(title="Plant tulips", project_id=ids["project"])
    add(title="Buy bulbs", parent_id=ids["bulbs"])
    reply = api.post(stack.api.base + "/api/tokens", json={"name": "Laptop script"}, timeout=10)
    assert reply.status_code == 201, reply.text
    reply = api.patch(base + "/notification-settings", json={"email_reminders": True, "daily_digest": True}, timeout=10)
    assert reply.status_code == 200, reply.text
    deadline = time.monotonic() + 15
    while not all(api.get(f"{base}/webhooks/{webhook}/deliveries", timeout=10).json()["items"] for webhook in webhooks):
        assert time.monotonic() < deadline, "a delivery to each webhook"
        time.sleep(0.1)
    return ids


def signed_out_pages(ui: UI) -> list:
    def login_with_error():
        ui.go("/login")
        ui.find("#email").send_keys(new_email())
        ui.find("#password").send_keys("not the password")
        ui.find("#login-form button[type=submit]").click()
        ui.wait(lambda: ui.finds("#form-errors"), message="the log-in error")

    return [
        ("login", lambda: ui.go("/login")),
        ("login with an error", login_with_error),
        ("signup", lambda: ui.go("/signup")),
        ("forgot password", lambda: ui.go("/forgot")),
        ("reset password", lambda: ui.go("/reset?token=not-a-real-token")),
        ("message (link not valid)", lambda: ui.go("/reset")),
        ("offline", lambda: ui.go("/offline")),
    ]


def signed_in_pages(ui: UI, ids: dict[str, str]) -> list:
    def list_with_chat_open():
        ui.go("/")
        ui.find("#chat-open").click()
        ui.wait(lambda: ui.find("#chat-panel").is_displayed())
        ui.find("#chat-input").send_keys("what is pending?", Keys.ENTER)
        ui.wait(lambda: len(ui.finds("#chat-log .message.from-assistant:not(.is-pending)")) >= 2, timeout=30, message="an answer")

    def close_chat():
        ui.find("#chat-close").click()
        ui.wait(lambda: not ui.find("#chat-panel").is_displayed())

    def list_with_a_row_selected():
        ui.go("/")
        ui.press("j")
        ui.wait(lambda: ui.finds("#task-list .task.is-selected"), message="a selected row")

    def project_with_a_handle_focused():
        ui.go(f"/?project={ids['project']}")
        ui.focus(ui.find("#task-list .drag-handle"))
        ui.press_with_alt(Keys.ARROW_DOWN)
        ui.wait(lambda: "moved to position" in ui.find("#toast").text, message="the move's announcement")

    def confirm_deleting_a_parent():
        ui.go(f"/tasks/{ids['bulbs']}")
        ui.find("#delete-task").click()
        ui.wait(lambda: ui.finds("#confirm-delete"), message="the confirmation")

    def list_with_help_open():
        ui.go("/")
        ui.press("?")
        ui.wait(lambda: ui.find("#help-dialog").get_attribute("open") is not None)

    def settings_with_new_token():
        ui.go("/settings")
        ui.find("#token-name").send_keys("Phone")
        ui.find("#token-form button[type=submit]").click()
        ui.wait(lambda: ui.finds("#new-token-value"), message="the new token")

    def chat_page_with_answer():
        ui.go("/chat")
        ui.find("#chat-page-input").send_keys("what is pending?")
        ui.find(".chat-page button[type=submit]").click()
        ui.wait(lambda: ui.finds(".chat-log.static") or ui.finds(".chat-page .alert"), timeout=30, message="an answer")

    def admin_with_invitation():
        ui.go("/admin")
        # Enter submits the form: at phone width, with the page scrolled past the accounts of
        # earlier tests, a click at the emulated device's coordinates could miss the button.
        ui.find("#invite-email").send_keys(new_email(), Keys.ENTER)
        ui.wait(lambda: ui.finds("#invitation-link"), message="the invitation link")

    return [
        ("tasks", lambda: ui.go("/")),
        ("tasks, all with done", lambda: ui.go("/?status=all")),
        ("tasks, nothing found", lambda: ui.go("/?q=nothing-matches-this")),
        ("a project", lambda: ui.go(f"/?project={ids['project']}")),
        ("a project, a task's drag handle focused", project_with_a_handle_focused),
        ("sharing a project", lambda: ui.go(f"/projects/{ids['project']}/share")),
        ("upcoming", lambda: ui.go("/?due=week")),
        ("tasks, a row selected", list_with_a_row_selected),
        ("tasks with the assistant", list_with_chat_open, close_chat),
        ("tasks with the shortcuts", list_with_help_open, lambda: ui.press(Keys.ESCAPE)),
        ("edit", lambda: ui.go(f"/tasks/{ids['full']}")),
        ("edit, done", lambda: ui.go(f"/tasks/{ids['done']}")),
        ("delete a task with sub-tasks: the confirmation", confirm_deleting_a_parent),
        ("settings", lambda: ui.go("/settings")),
        ("settings with a new token", settings_with_new_token),
        ("chat", chat_page_with_answer),
        ("admin", admin_with_invitation),
        ("an invitation's link", lambda: ui.go("/invitations/5c7f91db-194d-40a7-8faf-dfbdeaffaf88?token=link-secret")),
        ("not found", lambda: ui.go("/tasks/999999999")),
    ]


def use_size(driver, size: str) -> None:
    width, height = SIZES[size]
    driver.set_window_size(width, height)
    if size == "phone":
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True})
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def audit(ui: UI, axe: Axe) -> list[dict]:
    """The serious and critical violations of the page as it is now, less the known false positives."""
    axe.inject()
    violations = ui.driver.execute_async_script(RUN_AXE)
    assert not isinstance(violations, dict), violations
    grave = []
    for violation in violations:
        nodes = [node for node in violation["nodes"] if node.get("impact") in GRAVE
                 and (violation["id"], " ".join(node["target"])) not in FALSE_POSITIVES]
        if nodes:
            grave.append({**violation, "nodes": nodes})
    return grave


def report(found: dict[tuple[str, str, str], list[dict]]) -> str:
    by_rule = Counter(violation["id"] for violations in found.values() for violation in violations)
    lines = [f"{sum(by_rule.values())} serious or critical axe-core violations "
             f"({', '.join(f'{rule}: {count}' for rule, count in by_rule.most_common())}):"]
    for (page, theme, size), violations in found.items():
        for violation in violations:
            lines.append(f"\n{page} · {theme} · {size}: {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"]:
                summary = " ".join((node.get("failureSummary") or "").split())
                lines.append(f"    {' '.join(node['target'])}: {summary}")
    return "\n".join(lines)


def test_every_page_has_no_serious_or_critical_axe_violation_in_either_theme_at_desktop_and_phone_width(browser, stack):
    started = time.monotonic()
    driver = browser()
    ui = UI(driver, stack)
    axe = Axe(driver)
    found: dict[tuple[str, str, str], list[dict]] = {}
    audits = 0

    def walk(pages) -> None:
        nonlocal audits
        for size in SIZES:
            use_size(driver, size)
            for theme in THEMES:
                ui.go("/offline")
                driver.execute_script("localStorage.setItem('todo-theme', arguments[0])", theme)
                for page, open_page, *close in pages:
                    open_page()
                    shown = ui.find("html").get_attribute("data-theme")
                    assert shown == theme, f"{page}: the {theme} theme was chosen, the page shows {shown}"
                    violations = audit(ui, axe)
                    audits += 1
                    if violations:
                        found[(page, theme, size)] = violations
                    for action in close:
                        action()

    walk(signed_out_pages(ui))
    email = new_email()
    ui.sign_up(email, name="Ann Example")
    run_user_command(stack, "admin", email)
    receiver = Receiver()
    try:
        ids = seed(stack, email, receiver)
        walk(signed_in_pages(ui, ids))
    finally:
        receiver.close()
    print(f"\naxe-core audited {audits} pages in {time.monotonic() - started:.1f} s")
    assert not found, report(found)


CUSTOM_PROPERTIES = """
const names = new Set();
const collect = rule => {
  if (rule.style) for (const name of rule.style) if (name.startsWith("--")) names.add(name);
  for (const inner of rule.cssRules || []) collect(inner);
};
for (const sheet of document.styleSheets) for (const rule of sheet.cssRules) collect(rule);
const style = getComputedStyle(document.documentElement);
return Object.fromEntries([...names].sort().map(name => [name, style.getPropertyValue(name).trim()]));
"""


def test_the_dark_theme_of_the_system_has_the_colours_of_the_dark_theme_chosen_with_the_toggle(browser, stack):
    # app.css states the dark palette twice (for the toggle, and for the system's choice when the
    # toggle was never used); the audit above sees the first, so the second must equal it.
    driver = browser()
    ui = UI(driver, stack)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    ui.go("/login")
    assert ui.find("html").get_attribute("data-theme") is None
    system = driver.execute_script(CUSTOM_PROPERTIES)
    driver.execute_script("localStorage.setItem('todo-theme', 'dark')")
    ui.go("/login")
    chosen = driver.execute_script(CUSTOM_PROPERTIES)
    driver.execute_script("localStorage.setItem('todo-theme', 'light')")
    ui.go("/login")
    light = driver.execute_script(CUSTOM_PROPERTIES)
    assert system == chosen
    assert {name for name in chosen if chosen[name] != light[name]} >= {"--bg", "--text", "--faint", "--topbar"}
