"""A small page-object helper for driving the web UI with Selenium."""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import requests
from selenium.common.exceptions import (ElementNotInteractableException, NoSuchElementException,
                                        StaleElementReferenceException, WebDriverException)
from selenium.webdriver import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from server import BINARY

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
PASSWORD = "correct horse battery"
# The browser's time zone: not UTC, so that the tests see times typed and shown in the user's zone.
BROWSER_TIME_ZONE = "Europe/Berlin"


class Stack:
    def __init__(self, api: TodoProcess, web: TodoProcess, database_url: str, mailbox=None):
        self.api = api
        self.web = web
        # The SMTP server the API mails to (tests/e2e/mailbox.py).
        self.mailbox = mailbox
        self.base = web.base
        self.database_url = database_url

    def url(self, path: str) -> str:
        return self.base + path


def new_email() -> str:
    return f"web-{uuid.uuid4().hex[:10]}@example.com"


def save_screenshot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    time.sleep(0.15)  # let transitions settle
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def api_session(stack: Stack, email: str, password: str = PASSWORD) -> requests.Session:
    """A direct backend API client for the account, to check what the UI stored."""
    session = requests.Session()
    reply = session.post(stack.api.base + "/api/auth/login", json={"email": email, "password": password}, timeout=10)
    assert reply.status_code == 200, reply.text
    session.headers["Authorization"] = "Bearer " + reply.json()["token"]
    return session


def run_user_command(stack: Stack, *arguments: str) -> str:
    """`todo user …` on the stack's database, as its operator runs it."""
    done = subprocess.run([str(BINARY), "user", *arguments], env={"PATH": os.environ["PATH"], "DATABASE_URL": stack.database_url,
                          "LOG_LEVEL": "error"}, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


class UI:
    def __init__(self, driver, stack):
        self.driver = driver
        self.stack = stack

    # Navigation and waiting

    def go(self, path: str) -> None:
        self.driver.get(self.stack.url(path))

    def wait(self, condition, timeout: float = 20, message: str = ""):
        # 20 s: a bound for a loaded 2-core runner; a condition that holds returns at once.
        return WebDriverWait(self.driver, timeout, poll_frequency=0.05,
                             ignored_exceptions=(StaleElementReferenceException,)).until(lambda _: self._holds(condition), message)

    @staticmethod
    def _holds(condition):
        try:
            return condition()
        except WebDriverException as error:
            # Chromium's form of a stale element when a page replaces the document between finding an
            # element and reading it (a form posted without JS): not yet, ask again.
            if "does not belong to the document" in (error.msg or ""):
                return False
            raise

    def retry(self, action, timeout: float = 5):
        """Runs `action` again while the list it touches is being redrawn (live updates replace it)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return action()
            except (StaleElementReferenceException, NoSuchElementException, ElementNotInteractableException, AttributeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def find(self, css: str, root=None):
        return (root or self.driver).find_element(By.CSS_SELECTOR, css)

    def finds(self, css: str, root=None):
        return (root or self.driver).find_elements(By.CSS_SELECTOR, css)

    def path(self) -> str:
        return self.driver.execute_script("return location.pathname + location.search") if self.scripted else \
            self.driver.current_url.removeprefix(self.stack.base)

    @property
    def scripted(self) -> bool:
        return "js" in (self.find("html").get_attribute("class") or "")

    def press(self, *keys) -> None:
        """Types keys into whatever has the focus (page-level shortcuts when nothing does)."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def press_with_alt(self, key) -> None:
        """Alt+key on whatever has the focus."""
        ActionChains(self.driver).key_down(Keys.ALT).send_keys(key).key_up(Keys.ALT).perform()

    def focus(self, element) -> None:
        self.driver.execute_script("arguments[0].focus()", element)

    def active_id(self) -> str:
        return self.driver.switch_to.active_element.get_attribute("id") or ""

    # Accounts

    def sign_up(self, email: str, password: str = PASSWORD, name: str = "") -> None:
        self.go("/signup")
        if name:
            self.find("#name").send_keys(name)
        self.find("#email").send_keys(email)
        self.find("#password").send_keys(password)
        self.find("#signup-form button[type=submit]").click()
        self.wait(lambda: self.finds("#list-heading"), message="the task list after sign-up")

    def log_in(self, email: str, password: str = PASSWORD) -> None:
        self.go("/login")
        self.find("#email").send_keys(email)
        self.find("#password").send_keys(password)
        self.find("#login-form button[type=submit]").click()
        self.wait(lambda: self.finds("#list-heading"), message="the task list after log-in")

    # The task list

    def quick_add(self, text: str, expect_title: str | None = None) -> None:
        field = self.find("#quick-add-text")
        field.send_keys(text, Keys.ENTER)
        if expect_title:
            self.wait_row(expect_title)

    def titles(self) -> list[str]:
        return self.retry(lambda: [element.text for element in self.finds("#task-list .task-title")])

    def wait_titles(self, expected, timeout: float = 10) -> None:
        expected = list(expected)
        self.wait(lambda: sorted(self.titles()) == sorted(expected), timeout,
                  message=f"expected tasks {expected}, saw {self.titles()}")

    def row(self, title: str):
        for row in self.finds("#task-list .task"):
            if self.find(".task-title", row).text == title:
                return row
        return None

    def selected_title(self) -> str:
        """The title of the task the keyboard has selected (a redraw keeps the selection)."""
        return self.retry(lambda: self.find("#task-list .task.is-selected .task-title").text)

    def wait_row(self, title: str, timeout: float = 10):
        return self.wait(lambda: self.row(title), timeout, message=f"a task titled {title!r}; saw {self.titles()}")

    def wait_gone(self, title: str, timeout: float = 10) -> None:
        self.wait(lambda: self.row(title) is None, timeout, message=f"{title!r} to leave the list")

    def chips(self, title: str) -> list[str]:
        return self.retry(lambda: [chip.text for chip in self.finds(".chip", self.row(title))])

    def classes(self, title: str) -> str:
        return self.retry(lambda: self.row(title).get_attribute("class"))

    def click_in_row(self, title: str, css: str) -> None:
        self.retry(lambda: self.find(css, self.row(title)).click())

    def hover(self, element) -> None:
        ActionChains(self.driver).move_to_element(element).perform()

    def click_action(self, title: str, css: str) -> None:
        """Clicks an action of a task row (they show on hover or focus)."""
        def click():
            row = self.row(title)
            self.hover(row)
            button = self.find(css, row)
            self.wait(lambda: button.is_displayed(), timeout=2, message="the row's actions to show")
            button.click()
        self.retry(click)

    def choose(self, select_id: str, value: str) -> None:
        Select(self.find("#" + select_id)).select_by_value(value)
