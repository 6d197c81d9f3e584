"""The console in a real browser (headless chromium) against the whole stack: signing in, every page
screenshotted and checked with axe-core, the keyboard's first stop, a template edited with its live preview, a
key created and revoked, and a failed notification replayed from the dead letters until it is delivered."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from common.settings import DEV_GATEWAY_ADMIN_API_KEY
from devstack.stack import Stack
from tests.e2e.api import Api, Mailbox, gateway_client, unique
from tests.e2e.console.browser import accessibility_violations, screenshot, wait_for_text


def sign_in(driver: WebDriver, console_url: str, key: str = DEV_GATEWAY_ADMIN_API_KEY) -> None:
    driver.delete_all_cookies()
    driver.get(console_url + "/")
    assert "/console/sign-in" in driver.current_url
    driver.find_element(By.ID, "api_key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_text(driver, "h1", "Overview")


def check_page(driver: WebDriver, name: str) -> None:
    """Screenshot the page and insist axe finds nothing serious or critical on it."""
    screenshot(driver, name)
    assert accessibility_violations(driver) == [], name


@pytest.fixture(scope="module")
async def template_slug(api: Api) -> str:
    slug = unique("console")
    await api.create_template(slug=slug, channel="email", subject="Hello {{ name }}", body="Dear {{ name }}, welcome.")
    return slug


async def test_signing_in_with_the_operators_key_opens_the_overview(driver: WebDriver, console_url: str) -> None:
    driver.delete_all_cookies()
    driver.get(console_url + "/notifications")
    assert "/console/sign-in" in driver.current_url
    check_page(driver, "sign-in")
    driver.find_element(By.ID, "api_key").send_keys("nk_not_a_key")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for_text(driver, "[role=alert]", "That key is not valid.")
    sign_in(driver, console_url)
    check_page(driver, "overview")
    assert driver.find_element(By.CSS_SELECTOR, "nav a[aria-current=page]").text == "Overview"


async def test_the_keyboard_reaches_the_skip_link_first(driver: WebDriver, console_url: str) -> None:
    sign_in(driver, console_url)
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    focused = driver.switch_to.active_element
    assert focused.get_attribute("class") == "skip-link"
    focused.send_keys(Keys.ENTER)
    assert driver.switch_to.active_element.get_attribute("id") == "main"


async def test_every_page_renders_accessibly(driver: WebDriver, console_url: str, api: Api, template_slug: str) -> None:
    user = await api.create_user()
    notification_id = await api.send_queued(
        user_id=user["id"], channel="email", template=template_slug, variables={"name": "Ada"}
    )
    await api.wait_for_status(notification_id, "delivered")
    sign_in(driver, console_url)
    for name, path in (
        ("notifications", "/notifications"),
        ("notification-search", f"/notifications?user_id={user['id']}&status=delivered"),
        ("notification-detail", f"/notifications/{notification_id}"),
        ("templates", "/templates"),
        ("template-editor", f"/templates/{template_slug}?channel=email&locale=en"),
        ("dead-letters", "/dead-letters"),
        ("webhooks", "/webhooks"),
        ("topics-and-broadcasts", "/topics"),
        ("suppressions", "/suppressions"),
        ("applications", "/applications"),
        ("audit-log", "/audit"),
    ):
        driver.get(console_url + path)
        assert driver.find_elements(By.TAG_NAME, "h1"), path
        check_page(driver, name)
    driver.get(console_url + f"/notifications/{notification_id}")
    assert driver.find_element(By.ID, "notification-status").text == "delivered"
    assert "sending" in driver.find_element(By.CSS_SELECTOR, ".timeline").text


async def test_editing_a_template_changes_its_preview(driver: WebDriver, console_url: str, template_slug: str) -> None:
    sign_in(driver, console_url)
    driver.get(console_url + f"/templates/{template_slug}?channel=email&locale=en")
    variables = driver.find_element(By.ID, "preview-variables")
    variables.clear()
    variables.send_keys('{"name": "Grace"}')  # rendered as typed, debounced: no button pressed
    wait_for_text(driver, "#rendered-body", "Dear Grace, welcome.")
    body = driver.find_element(By.ID, "part-body")
    body.clear()
    body.send_keys("Dear {{ name }}, the console changed this.")  # the unsaved draft renders as it is typed
    wait_for_text(driver, "#rendered-body", "Dear Grace, the console changed this.")
    wait_for_text(driver, "#rendered", "Unsaved draft")
    driver.find_element(By.CSS_SELECTOR, "#template-form button[type=submit]").click()
    wait_for_text(driver, ".flash", "Saved as version 2.")
    variables = driver.find_element(By.ID, "preview-variables")
    variables.clear()
    variables.send_keys('{"name": "Grace"}')
    wait_for_text(driver, "#rendered-body", "Dear Grace, the console changed this.")
    Select(driver.find_element(By.ID, "preview-version")).select_by_value("2")  # the saved version
    wait_for_text(driver, "#rendered", "Version 2")
    wait_for_text(driver, "#rendered-body", "Dear Grace, the console changed this.")
    check_page(driver, "template-edited")
    driver.find_element(By.LINK_TEXT, "diff with 1").click()
    wait_for_text(driver, ".diff", "+Dear {{ name }}, the console changed this.")
    check_page(driver, "template-diff")


async def test_a_key_created_in_the_console_is_shown_once_and_revoked(
    driver: WebDriver, console_url: str, stack: Stack
) -> None:
    sign_in(driver, console_url)
    driver.get(console_url + "/applications")
    name = unique("console-app")
    driver.find_element(By.ID, "app-name").send_keys(name)
    driver.find_element(By.XPATH, "//button[text()='Create application']").click()
    wait_for_text(driver, ".flash", "Application created.")
    driver.find_element(By.ID, "key-name").send_keys("reader")
    driver.find_element(By.XPATH, "//label[text()='notifications:read']").click()
    driver.find_element(By.XPATH, "//button[text()='Create key']").click()
    wait_for_text(driver, "h1", "Key reader created")
    check_page(driver, "key-created")
    key = driver.find_element(By.ID, "new-key").get_attribute("value")
    assert key
    assert key.startswith("nk_")
    async with gateway_client(stack.url("gateway"), key) as client:
        assert (await client.get("/v1/notifications")).status_code == 200
        driver.find_element(By.LINK_TEXT, "Back to the application").click()
        wait_for_text(driver, "h1", f"Application {name}")  # the new page, not the one the key was on
        assert key not in driver.page_source  # shown once
        check_page(driver, "application-keys")
        driver.find_element(By.CSS_SELECTOR, "button[aria-label='Revoke key reader']").click()
        wait_for_text(driver, ".flash", "revoked")
        wait_for_text(driver, "table", "revoked")
        assert await _refused_within(client, "/v1/notifications", seconds=5)
    driver.get(console_url + "/audit")
    wait_for_text(driver, "table", "key.revoke")
    check_page(driver, "audit-after-revoke")


async def _refused_within(client: httpx.AsyncClient, path: str, seconds: float) -> bool:
    for _ in range(int(seconds * 10)):
        if (await client.get(path)).status_code == 401:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_failed_notification_is_replayed_from_the_dead_letters_until_delivered(
    driver: WebDriver, console_url: str, api: Api, mailbox: Mailbox, template_slug: str
) -> None:
    user = await api.create_user()
    await mailbox.fail(user["email"], 554, times=1)  # refused once for good; the replay goes through
    notification_id = await api.send_queued(
        user_id=user["id"], channel="email", template=template_slug, variables={"name": "Ada"}
    )
    await api.wait_for_status(notification_id, "failed")
    sign_in(driver, console_url)
    driver.get(console_url + "/notifications?status=failed&user_id=" + user["id"])
    driver.find_element(By.LINK_TEXT, notification_id).click()
    wait_for_text(driver, "#notification-status", "failed")
    check_page(driver, "failed-notification")
    driver.get(console_url + "/suppressions")  # the hard bounce suppressed the address: lift it first
    driver.find_element(By.CSS_SELECTOR, f"button[aria-label='Remove {user['email']}']").click()
    wait_for_text(driver, ".flash", "removed")
    for _ in range(100):  # the dead letter reaches the table shortly after the status is written
        driver.get(console_url + "/dead-letters")
        if notification_id in driver.page_source:
            break
        await asyncio.sleep(0.1)
    check_page(driver, "dead-letters-waiting")
    row = driver.find_element(By.XPATH, f"//tr[.//a[text()='{notification_id}']]")
    row.find_element(By.XPATH, "./td[1]/a").click()
    wait_for_text(driver, "dl.facts", "smtp_554")
    wait_for_text(driver, "h2", "Envelope")
    check_page(driver, "dead-letter-detail")
    driver.back()
    row = driver.find_element(By.XPATH, f"//tr[.//a[text()='{notification_id}']]")
    row.find_element(By.XPATH, ".//button[text()='Replay']").click()
    wait_for_text(driver, ".flash", "Replayed.")
    for _ in range(150):
        driver.get(console_url + f"/notifications/{notification_id}")
        if driver.find_element(By.ID, "notification-status").text == "delivered":
            break
        await asyncio.sleep(0.1)
    assert driver.find_element(By.ID, "notification-status").text == "delivered"
    check_page(driver, "replayed-and-delivered")
    assert len(await mailbox.wait_for(user["email"])) == 1
