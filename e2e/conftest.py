"""Browser fixtures: a live server in a thread and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from webapp.schedule import start_worker_thread


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": shutil.which("chromium") or "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
        ],
    }


class _CurrentApp:
    """WSGI app that forwards to whichever Flask app the running test built."""

    def __init__(self):
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def _server():
    dispatcher = _CurrentApp()
    server = make_server("127.0.0.1", 0, dispatcher, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, dispatcher
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def base_url(_server):
    server, _ = _server
    return f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(autouse=True)
def live_server(_server, base_url, app, smtp):
    """Serve this test's `app` on the live server, with the outbox worker running beside it.

    It asks for `smtp` so that the SMTP server starts before the worker and stops after it:
    stopped first, it could take a connection from the worker as it shut down and leave it to
    the garbage collector (a ResourceWarning, seen twice in CI as an error in the next test)."""
    _, dispatcher = _server
    app.config["APP_BASE_URL"] = base_url
    dispatcher.app = app
    worker, stop = start_worker_thread(app)
    yield app
    stop.set()
    worker.join(timeout=5)
    dispatcher.app = None


def sign_in(page, email: str, password: str) -> None:
    """Sign in through the real form, as a person would, and wait for the page it leads to.

    Waiting for the load event matters: a page's content shows before its deferred scripts have
    run, and anything typed then (a search, say) goes unheard by htmx. Seen once in CI, where the
    customer search after signing in never fired."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    # The form posts back to /login when the password is wrong, so wait for the new page itself.
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="Sign in").click()


def follow(page, link_name: str) -> None:
    """Click a link to another page and wait until that page has loaded."""
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name=link_name).click()
