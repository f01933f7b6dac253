"""The playground in a real browser: Debian's Chromium, driven through chromium-driver by Selenium.

Loads GraphiQL from a live server, with every file from that server (no internet), opens the
saved operations as tabs, runs the first one with a test key typed into the page, and sees the
new session in the response pane; and shows that no key typed into the page, in the key box or
in a tab's Headers pane, is kept in the browser. The first tab's variables show no false error,
and the watch tab runs its subscription over the WebSocket, seeing a change made elsewhere.
Screenshots are kept in test-artifacts/.

Selenium is given the driver and browser paths, so it never looks for or downloads a browser.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from app.web.playground import Playground
from tests.conftest import Api
from tests.helpers import CANCEL

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# As root, and with no network beyond localhost: no sandbox, and none of Chromium's own traffic.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,900",
)
WAIT_SECONDS = 20

# What the browser kept for the page's origin: Web Storage of both kinds, cookies, and the names
# of its IndexedDB databases.
CREATE_ID = """
mutation { createVerificationSession(input: {type: DOCUMENT}) { verificationSession { id } } }
"""

KEPT = """
const done = arguments[arguments.length - 1];
const dump = (storage) => Object.keys(storage).map((key) => key + "=" + storage.getItem(key));
indexedDB.databases().then((databases) => done(JSON.stringify({
  local: dump(localStorage), session: dump(sessionStorage), cookies: document.cookie,
  indexedDB: databases.map((database) => database.name),
})));
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: install Debian's chromium and chromium-driver "
            "(`apt-get install chromium chromium-driver`; .ci/run and `make test` do it as root)"
        )
    # Selenium is handed both paths; SE_OFFLINE also keeps its Selenium Manager off the network.
    os.environ["SE_OFFLINE"] = "true"
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: webdriver.Chrome, condition: Callable[[Any], Any], what: str) -> Any:
    return WebDriverWait(driver, WAIT_SECONDS).until(condition, message=f"waiting for {what}")


def editor_text(driver: webdriver.Chrome, selector: str) -> str:
    """The whole text of the CodeMirror editor under `selector` (not only its visible lines)."""
    text: str = driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.CodeMirror.getValue() : '';",
        f"{selector} .CodeMirror",
    )
    return text


def open_playground(driver: webdriver.Chrome, base_url: str) -> list[str]:
    """Load the page, wait for GraphiQL's tabs, and return their titles."""
    driver.get(f"{base_url}/graphql")
    wait_for(
        driver,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".graphiql-tab")) > 1,
        "GraphiQL's tabs",
    )
    return [tab.text for tab in driver.find_elements(By.CSS_SELECTOR, ".graphiql-tab")]


def kept_in_browser(driver: webdriver.Chrome) -> str:
    kept: str = driver.execute_async_script(KEPT)
    return kept


def test_playground_runs_a_saved_operation_offline(browser: webdriver.Chrome, api: Api) -> None:
    # given: a fresh browser profile on the playground of a live server
    browser.delete_all_cookies()
    titles = open_playground(browser, api.server.base_url)
    # then: every saved operation is a ready tab, the first one create
    assert titles == [tab["name"] for tab in Playground().operations]
    assert titles[0] == "CreateVerificationSession"
    assert '"clientReferenceId": "user_42"' in editor_text(browser, ".graphiql-editor-tool")
    # and the explorer pane is open beside the editors
    wait_for(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-explorer-root"), "explorer"
    )

    # when: a newcomer pastes the test key into the page and runs the first tab
    browser.find_element(By.ID, "test-key").send_keys(api.key)
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    response = wait_for(
        browser,
        lambda d: editor_text(d, ".graphiql-response") or None,
        "the response pane",
    )
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "playground.png"))

    # then: the page shows the session the server created for that key's account
    payload = json.loads(response)["data"]["createVerificationSession"]
    assert payload["userErrors"] == []
    session = payload["verificationSession"]
    assert session["id"].startswith("vs_")
    assert session["status"] == "REQUIRES_INPUT"
    listed = api.gql("{ verificationSessions(first: 5) { edges { node { id } } } }")
    assert [edge["node"]["id"] for edge in listed["verificationSessions"]["edges"]] == [
        session["id"]
    ]
    # and every file the page loaded came from the gateway itself
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map((entry) => entry.name)"
    )
    assert any(url.endswith("/playground/vendor/graphiql.js") for url in loaded)
    assert [url for url in loaded if not url.startswith(api.server.base_url)] == []
    # with no script error and no Content-Security-Policy violation on the way
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


def test_playground_docs_pane_shows_the_schema(browser: webdriver.Chrome, api: Api) -> None:
    # given
    open_playground(browser, api.server.base_url)
    # when
    browser.find_element(By.CSS_SELECTOR, "[aria-label='Show Documentation Explorer']").click()
    # then: the docs pane lists the root types, read by introspection
    docs = wait_for(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, ".graphiql-doc-explorer"),
        "the docs pane",
    )[0]
    wait_for(browser, lambda d: "Mutation" in docs.text, "the root types")
    assert "Query" in docs.text


def test_playground_keeps_no_key_in_the_browser(browser: webdriver.Chrome, api: Api) -> None:
    # given: the key typed into the key box, and another into a tab's Headers pane
    header_key = api.new_key()
    open_playground(browser, api.server.base_url)
    browser.find_element(By.ID, "test-key").send_keys(api.key)
    browser.find_element(By.XPATH, "//button[normalize-space()='Headers']").click()
    browser.execute_script(
        "document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) "
        ".CodeMirror').CodeMirror.setValue(arguments[0])",
        json.dumps({"Authorization": f"Bearer {header_key}"}),
    )
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    wait_for(browser, lambda d: editor_text(d, ".graphiql-response") or None, "the response")
    time.sleep(1)  # GraphiQL writes its tab state half a second after a change
    # then: neither key is kept by the browser, before or after a reload
    assert "sk_test_" not in kept_in_browser(browser)
    open_playground(browser, api.server.base_url)
    kept = kept_in_browser(browser)
    assert "graphiql:tabState" in kept  # the tabs are kept: the check reads the right place
    assert api.key not in kept
    assert header_key not in kept
    # and the reloaded page's key box is empty
    assert browser.find_element(By.ID, "test-key").get_attribute("value") == ""


# The variables editor's lint, run now: the messages it gives and the error marks on the page.
VARIABLE_CHECKS = """
const editor = [...document.querySelectorAll('#graphiql .CodeMirror')]
  .map((element) => element.CodeMirror)
  .find((candidate) => candidate.getOption('mode') === 'graphql-variables');
if (arguments[0] !== null) editor.setValue(arguments[0]);
const state = editor.state.lint;
if (!state.linterOptions.variableToType) return null;  // the schema or operation is not read yet
editor.performLint();
const lint = state.options.getAnnotations || editor.getHelper({line: 0, ch: 0}, 'lint');
return {
  messages: lint(editor.getValue(), state.linterOptions, editor).map((found) => found.message),
  marks: editor.getWrapperElement().querySelectorAll('.CodeMirror-lint-mark-error').length,
};
"""


def variable_checks(driver: webdriver.Chrome, text: str | None = None) -> dict[str, Any]:
    checks: dict[str, Any] = wait_for(
        driver, lambda d: d.execute_script(VARIABLE_CHECKS, text), "the variables editor's checks"
    )
    return checks


def test_first_tab_variables_show_no_false_error(browser: webdriver.Chrome, api: Api) -> None:
    # given: a newcomer's first visit (no tabs kept from an earlier one)
    open_playground(browser, api.server.base_url)
    browser.execute_script("localStorage.clear()")
    open_playground(browser, api.server.base_url)
    variables = editor_text(browser, ".graphiql-editor-tool")
    assert '"metadata": { "order": "1001" }' in variables
    # when / then: the create tab's own variables pass the editor's checks, marking nothing
    assert variable_checks(browser) == {"messages": [], "marks": 0}

    # and: the checks still run, and know Metadata's shape: string values in an object
    wrong = json.loads(variables)
    wrong["input"]["metadata"] = {"order": 1001}
    wrong["input"]["clientReferenceId"] = 42
    checks = variable_checks(browser, json.dumps(wrong, indent=2))
    assert checks == {"messages": ['Expected value of type "String".'] * 2, "marks": 2}
    wrong["input"]["clientReferenceId"] = "user_42"
    wrong["input"]["metadata"] = "order=1001"
    checks = variable_checks(browser, json.dumps(wrong, indent=2))
    assert checks == {"messages": ['Type "Metadata" must be an Object.'], "marks": 1}


def test_playground_watches_a_session_over_the_websocket(
    browser: webdriver.Chrome, api: Api
) -> None:
    # given: a session, and the playground with the test key typed in
    created = api.gql(CREATE_ID)["createVerificationSession"]["verificationSession"]
    session_id = created["id"]
    open_playground(browser, api.server.base_url)
    browser.get_log("browser")  # only this test's messages below
    browser.find_element(By.ID, "test-key").send_keys(api.key)
    # when: the saved watch tab runs with that session's id
    [tab] = [
        tab
        for tab in browser.find_elements(By.CSS_SELECTOR, ".graphiql-tab")
        if tab.text == "WatchVerificationSession"
    ]
    tab.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(
        browser,
        lambda d: (
            "subscription WatchVerificationSession" in editor_text(d, ".graphiql-query-editor")
        ),
        "the watch tab",
    )
    browser.execute_script(
        "document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) "
        ".CodeMirror').CodeMirror.setValue(arguments[0])",
        json.dumps({"id": session_id}),
    )
    # GraphiQL parses the editors into its state (the operation name it sends) on a debounce:
    # Run clicked within milliseconds of the tab switch sends the previous tab's operationName
    # (seen on a fast machine: "Unknown operation named 'CreateVerificationSession'"). A person
    # never clicks that fast; the test waits as long as one would.
    time.sleep(1)
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    # then: the session's state arrives in the response pane
    first = wait_for(browser, lambda d: response_of(d, session_id), "the first message")
    assert first["data"]["verificationSession"]["status"] == "REQUIRES_INPUT"
    # and: a change made elsewhere arrives while the subscription runs
    canceled = api.gql(CANCEL, {"id": session_id})["cancelVerificationSession"]
    assert canceled["userErrors"] == []
    message = wait_for(
        browser,
        lambda d: (
            (found := response_of(d, session_id))
            and found["data"]["verificationSession"]["status"] == "CANCELED"
            and found
        ),
        "the canceled session",
    )
    assert message["data"]["verificationSession"]["id"] == session_id
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "playground-subscription.png"))
    # when: the run is stopped
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    # then: nothing went wrong on the page (a refused socket or a CSP violation is SEVERE)
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


def response_of(driver: webdriver.Chrome, session_id: str) -> dict[str, Any] | None:
    """The response pane's JSON once it shows `session_id`, else None."""
    text = editor_text(driver, ".graphiql-response")
    if session_id not in text:
        return None
    result: dict[str, Any] = json.loads(text)
    return result
