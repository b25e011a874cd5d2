"""Single sign-on in Chromium: the log-in page's button, the provider's form (oidc-provider-mock, a
real OpenID Connect provider), and back to the task list, signed in."""
from __future__ import annotations

import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from oidc import MockProvider
from server import SECRET, TodoProcess


@pytest.fixture
def sso_stack(tmp_path):
    """A provider, and `todo api` and `todo web` that sign in through it (password log-in off)."""
    provider = MockProvider(tmp_path / "provider.log")
    processes = []
    try:
        settings = {"OIDC_ISSUER": provider.issuer, "PASSWORD_LOGIN": "false", "ACCESS_LOG": "false"}
        api = TodoProcess("api", {**settings, "AUTH_SECRET": SECRET, "DATABASE_URL": f"sqlite://{tmp_path}/todo.db",
                                  "OIDC_CLIENT_ID": "todo-browser-tests", "OIDC_CLIENT_SECRET": "browser-secret"}, tmp_path / "api.log")
        processes.append(api)
        api.wait_ready()
        web = TodoProcess("web", {**settings, "BACKEND_URL": api.base, "OIDC_NAME": "Mock ID"}, tmp_path / "web.log")
        processes.append(web)
        web.wait_ready()
        yield provider, web
    finally:
        for process in reversed(processes):
            process.stop()
        provider.stop()


def test_browser_signs_in_through_the_provider_and_lands_on_the_tasks_page(any_browser, sso_stack):
    provider, web = sso_stack
    email = f"browser-{uuid.uuid4().hex[:10]}@example.com"
    provider.add_user("browser-subject", email, name="Bea Browser")
    driver = any_browser()
    driver.get(web.base + "/login")
    assert not driver.find_elements(By.ID, "login-form"), "PASSWORD_LOGIN=false hides the password form"
    link = driver.find_element(By.ID, "sso-link")
    assert link.text == "Sign in with Mock ID"
    link.click()

    WebDriverWait(driver, 10).until(lambda d: d.current_url.startswith(provider.issuer))
    driver.find_element(By.CSS_SELECTOR, "input[name=sub]").send_keys("browser-subject")
    driver.find_element(By.XPATH, "//button[normalize-space()='Authorize']").click()

    WebDriverWait(driver, 10).until(lambda d: d.current_url.rstrip("/") == web.base and d.find_elements(By.ID, "quick-add"))
    driver.get(web.base + "/settings")
    assert email in driver.find_element(By.TAG_NAME, "main").text
