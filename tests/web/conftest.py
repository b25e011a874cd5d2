"""Fixtures of the browser tests: one real backend (`todo api`, SQLite), one real web UI
(`todo web`) in front of it, and headless Chromium driven by Selenium through Debian's
chromedriver."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from server import SECRET, TodoProcess, free_port  # noqa: E402  (the end-to-end tests' process helper)
from smtp_sink import Mailbox  # noqa: E402
from webui import BROWSER_TIME_ZONE, Stack  # noqa: E402

os.environ.setdefault("SE_AVOID_STATS", "true")

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium and chromedriver, installed with apt when missing (as root)."""
    if not (Path(CHROMEDRIVER).exists() and Path(CHROMIUM).exists()):
        if os.geteuid() != 0:
            pytest.fail(f"{CHROMEDRIVER} is missing: run  apt-get install -y chromium chromium-driver")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
            subprocess.run(install, env=env, check=True, capture_output=True)
    return CHROMIUM


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """`todo api` on SQLite and `todo web` in front of it, for the whole session; `todo mcp`
    too, so that the assistant can act (the web UI does not need it); a real SMTP server
    (aiosmtpd) receives the API's reset mails."""
    directory = tmp_path_factory.mktemp("web-stack")
    mcp_port, web_port = free_port(), free_port()
    mailbox = Mailbox().__enter__()
    database_url = f"sqlite://{directory}/todo.db"
    api = TodoProcess("api", {
        "SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}",
        "MAIL_FROM": "todo@example.com",
        "PUBLIC_WEB_URL": f"http://127.0.0.1:{web_port}",
        "AUTH_SECRET": SECRET,
        "DATABASE_URL": database_url,
        "MCP_URL": f"http://127.0.0.1:{mcp_port}/mcp",
        "REMINDER_INTERVAL_MS": "200",
        "EVENT_POLL_INTERVAL_MS": "50",
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "ACCESS_LOG": "false",
        "VAPID_PRIVATE_KEY": "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",  # RFC 8291's example key: push is on
    }, directory / "api.log")
    processes = [api]
    try:
        api.wait_ready()
        web = TodoProcess("web", {"PORT": str(web_port), "BACKEND_URL": api.base, "ACCESS_LOG": "false"}, directory / "web.log")
        processes.append(web)
        web.wait_ready()
        mcp = TodoProcess("mcp", {"PORT": str(mcp_port), "BACKEND_URL": api.base}, directory / "mcp.log")
        processes.append(mcp)
        yield Stack(api, web, database_url, mailbox)
    finally:
        for process in reversed(processes):
            process.stop()
        mailbox.__exit__()
    assert web.process.returncode == 0, f"todo web exited with {web.process.returncode}: {web.output()[-2000:]}"


@pytest.fixture
def browser(any_browser, stack):
    """`any_browser` with the session's stack running."""
    return any_browser


@pytest.fixture
def any_browser(chromium):
    """Makes headless Chromium windows (`browser()`, `browser(javascript=False)`, `browser(width=390)`);
    all are closed after the test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def launch(javascript: bool = True, width: int = 1280, height: int = 860):
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for argument in (
            "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1', "--disable-background-networking",
            "--disable-extensions", "--no-first-run", "--force-device-scale-factor=1", f"--window-size={width},{height}",
            "--lang=en-US",
        ):
            options.add_argument(argument)
        if not javascript:
            options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
        service = Service(executable_path=CHROMEDRIVER, env={**os.environ, "TZ": BROWSER_TIME_ZONE})
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_window_size(width, height)
        driver.implicitly_wait(0)
        drivers.append(driver)
        return driver

    yield launch
    for driver in drivers:
        driver.quit()
