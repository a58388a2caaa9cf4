"""The provider in Airflow's own UI, in a real browser (Debian's chromium + chromium-driver, Selenium).

A real deployment (api-server, scheduler, dag-processor, triggerer) with the provider installed and
login on. In headless Chromium: each connection form is filled the way its placeholders say (server
URL in Host, port in Port), saved, and tested with the Test button against the emulators and
against a closed port; then a deferred example DAG is triggered and its extra link followed.
Screenshots go to docs/images/ (the docs site shows them).
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from airflow_provider.example_dags import DAGS_FOLDER
from airflow_provider.testing import emulator_module
from airflow_provider.testing.cluster import Deployment, connection_env, wait_until
from airflow_provider.testing.dataiku import DEMO_API_KEY
from airflow_provider.testing.digitalhub import BASIC_PASSWORD, BASIC_USER
from airflow_provider.testing.paddleflow import ROOT_PASSWORD, ROOT_USER

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
USER, PASSWORD = "admin", "ui-test-pass-51c0"
PLATFORMS = ("dataiku", "digitalhub", "aqueduct", "paddleflow")
TYPE_NAMES = {"dataiku": "Dataiku DSS", "digitalhub": "DigitalHub (DHCore)", "aqueduct": "Aqueduct", "paddleflow": "PaddleFlow"}
CREDENTIALS = {"dataiku": (None, DEMO_API_KEY), "digitalhub": (BASIC_USER, BASIC_PASSWORD), "aqueduct": (None, None), "paddleflow": (ROOT_USER, ROOT_PASSWORD)}
HIDDEN = {"dataiku": ("schema", "login"), "digitalhub": ("schema",), "aqueduct": ("schema", "login"), "paddleflow": ("schema",)}


def _binaries() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail("the browser test needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver (.ci/run installs them)")
    return chromium, driver


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def emulators() -> Iterator[dict[str, Any]]:
    served = {}
    for platform in PLATFORMS:
        module = emulator_module(platform)
        emulator = module.create_app(demo=True, **({"run_duration": 8.0} if platform == "dataiku" else {}))
        served[platform] = (module, emulator, emulator.serve())
    yield served
    for _, _, server in served.values():
        server.stop()


@pytest.fixture(scope="module")
def airflow(emulators: dict[str, Any]) -> Iterator[Deployment]:
    env: dict[str, str] = {}
    for platform, (module, _, server) in emulators.items():
        env.update(connection_env(f"{platform}_default", module.connection(server.url)))
    dags = {"dataiku_scenarios.py": (DAGS_FOLDER / "dataiku_scenarios.py").read_text()}
    config = {"core": {"test_connection": "Enabled", "simple_auth_manager_all_admins": "False", "simple_auth_manager_users": f"{USER}:admin"}}
    cluster = Deployment(dags, env=env, config=config)
    passwords = cluster.home / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    cluster.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] = str(passwords)
    try:
        cluster.migrate()
        for component in ("api-server", "dag-processor", "scheduler", "triggerer"):
            cluster.start(component)
        cluster.wait_api(timeout=180)
        token = requests.post(cluster.api_url.removesuffix("/api/v2") + "/auth/token", json={"username": USER, "password": PASSWORD}, timeout=30)
        token.raise_for_status()
        cluster._http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="module")
def browser(airflow: Deployment) -> Iterator[Any]:
    chromium, driver_path = _binaries()
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.binary_location = chromium
    driver = webdriver.Chrome(service=webdriver.ChromeService(driver_path), options=options)
    driver.implicitly_wait(0)  # explicit waits only: an implicit one stalls every "is it absent?" check
    base = airflow.api_url.removesuffix("/api/v2")
    driver.get(base + "/auth/login")
    inputs = wait_until(
        lambda: driver.find_elements(By.TAG_NAME, "input")[:2] if len(driver.find_elements(By.TAG_NAME, "input")) >= 2 else None, 30, "the login form"
    )
    inputs[0].send_keys(USER)
    inputs[1].send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(lambda: "/auth/login" not in driver.current_url, 30, "the login to finish")
    driver.base = base
    IMAGES.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _with_text(scope: Any, selector: str, text: str) -> Any:
    """The first element matching ``selector`` whose text is ``text`` (None while the page re-renders)."""
    try:
        return next((e for e in scope.find_elements(By.CSS_SELECTOR, selector) if e.text.strip() == text), None)
    except StaleElementReferenceException:
        return None


def _button(scope: Any, text: str) -> Any:
    return wait_until(lambda: _with_text(scope, "button", text), 30, f"the {text!r} button")


def _open_add_form(browser: Any, conn_id: str, type_name: str) -> Any:
    browser.get(browser.base + "/connections")
    _button(browser, "Add Connection").click()
    dialog = wait_until(lambda: next(iter(browser.find_elements(By.CSS_SELECTOR, "[role=dialog]")), None), 20, "the Add Connection dialog")
    wait_until(lambda: dialog.find_elements(By.NAME, "connection_id"), 20, "the connection id input")[0].send_keys(conn_id)
    select = dialog.find_element(By.CSS_SELECTOR, "input[role=combobox]")
    select.send_keys(type_name)
    time.sleep(0.3)
    select.send_keys(Keys.ENTER)
    wait_until(lambda: dialog.find_elements(By.NAME, "host"), 20, f"the {type_name} form")
    return dialog


def _accordion(dialog: Any, title: str) -> None:
    trigger = next(t for t in dialog.find_elements(By.CSS_SELECTOR, "[data-part=item-trigger]") if t.text.strip() == title)
    if trigger.get_attribute("aria-expanded") != "true":
        trigger.click()
        time.sleep(0.3)


def _press_test(browser: Any, conn_id: str) -> tuple[str, str, float]:
    """Press the row's Test button; (toast type, toast text, seconds until it showed)."""
    browser.get(browser.base + "/connections")
    row = wait_until(lambda: next((r for r in browser.find_elements(By.CSS_SELECTOR, "tr") if conn_id in r.text), None), 20, f"the {conn_id} row")
    for toast in browser.find_elements(By.CSS_SELECTOR, "[data-scope=toast][data-part=root]"):
        browser.execute_script("arguments[0].remove()", toast)
    started = time.time()
    row.find_element(By.CSS_SELECTOR, "button[aria-label='Test Connection']").click()
    toast = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "[data-scope=toast][data-part=root]"), 30, "the test result")[0]
    seconds = time.time() - started
    text = wait_until(lambda: toast.text.strip(), 10, "the toast's message")
    return toast.get_attribute("data-type"), text, seconds


@pytest.mark.parametrize("platform", PLATFORMS)
def test_connection_form_filled_as_its_placeholders_say_saves_and_tests(platform: str, browser: Any, airflow: Deployment, emulators: dict[str, Any]) -> None:
    conn_id = f"ui_{platform}"
    port = urlsplit(emulators[platform][2].url).port
    dialog = _open_add_form(browser, conn_id, TYPE_NAMES[platform])

    host = dialog.find_element(By.NAME, "host")
    assert "://" in host.get_attribute("placeholder") and "fill in" in dialog.find_element(By.NAME, "port").get_attribute("placeholder")
    for hidden in HIDDEN[platform]:
        assert not [e for e in dialog.find_elements(By.NAME, hidden) if e.is_displayed()], f"{platform}: {hidden} is declared hidden but shows"
    host.send_keys("http://127.0.0.1")  # the server URL (scheme + host) in Host, as the placeholder shows
    dialog.find_element(By.NAME, "port").send_keys(str(port))
    login, password = CREDENTIALS[platform]
    if login:
        dialog.find_element(By.NAME, "login").send_keys(login)
    if password:
        dialog.find_element(By.NAME, "password").send_keys(password)
    browser.save_screenshot(str(IMAGES / f"connection-{platform}.png"))

    def secret_inputs() -> int:
        return len([e for e in dialog.find_elements(By.CSS_SELECTOR, "input[type=password]") if e.is_displayed()])

    secrets = secret_inputs()  # the standard fields (the accordion shows one section at a time)
    _accordion(dialog, "Extra Fields")
    secrets += secret_inputs()
    assert secrets == 1, f"{platform}: {secrets} secret inputs (one is enough: Password)"
    assert "null" not in dialog.text.lower(), f"{platform} form shows null: {dialog.text}"
    for combo in dialog.find_elements(By.CSS_SELECTOR, "select"):
        assert "null" not in combo.text.lower()
    _button(dialog, "Save").click()
    wait_until(lambda: not browser.find_elements(By.CSS_SELECTOR, "[role=dialog]"), 20, "the form to close after Save")

    saved = airflow.api("GET", f"/connections/{conn_id}")
    assert saved["host"] == "http://127.0.0.1" and saved["port"] == port
    extra = json.loads(saved["extra"] or "{}")
    assert None not in extra.values() and "null" not in (saved["extra"] or ""), extra
    kind, text, _ = _press_test(browser, conn_id)
    browser.save_screenshot(str(IMAGES / f"connection-test-{platform}.png"))
    assert kind == "success", f"{platform}: Test answered {kind}: {text}"
    assert "differs from the stored connection" not in text


def test_a_closed_port_fails_the_test_button_within_3_seconds(browser: Any, airflow: Deployment) -> None:
    closed = _closed_port()
    airflow.api(
        "POST",
        "/connections",
        {"connection_id": "ui_refused", "conn_type": "dataiku", "host": "http://127.0.0.1", "port": closed, "password": DEMO_API_KEY},
    )
    kind, text, seconds = _press_test(browser, "ui_refused")
    browser.save_screenshot(str(IMAGES / "connection-test-refused.png"))
    assert kind == "error", text
    assert str(closed) in text or "refused" in text.lower(), text
    assert seconds <= 3.0, f"the Test button took {seconds:.1f} s to answer a refused connection"


def test_deferred_example_dag_shows_the_platform_extra_link(browser: Any, airflow: Deployment, emulators: dict[str, Any]) -> None:
    airflow.wait_for_dags(["dataiku_scenarios"], timeout=180)
    run_id = airflow.api("POST", "/dags/dataiku_scenarios/dagRuns", {"logical_date": None})["dag_run_id"]
    path = f"/dags/dataiku_scenarios/dagRuns/{run_id}/taskInstances/build_orders"
    wait_until(lambda: airflow.api("GET", path)["state"] in ("deferred", "success"), 180, "build_orders to defer")

    browser.get(f"{browser.base}/dags/dataiku_scenarios/runs/{run_id}/tasks/build_orders/details")  # where the Extra Links box is
    try:
        link = wait_until(lambda: _with_text(browser, "a", "Dataiku scenario run"), 60, "the 'Dataiku scenario run' link")
    except AssertionError:
        browser.save_screenshot(str(Path(airflow.home) / "extra-link-missing.png"))
        shown = [e.text.strip() for e in browser.find_elements(By.CSS_SELECTOR, "a, button") if e.text.strip()]
        links = airflow.api("GET", f"{path}/links")
        raise AssertionError(f"no 'Dataiku scenario run' link on {browser.current_url}; links: {links}; shown: {shown}") from None
    browser.save_screenshot(str(IMAGES / "extra-link-deferred.png"))
    href = link.get_attribute("href")
    dss = emulators["dataiku"][2].url
    assert href.startswith(dss + "/projects/DEMO/scenarios/BUILD_ORDERS/runs/list/"), href
    browser.get(href)
    assert browser.current_url.startswith(dss), browser.current_url
