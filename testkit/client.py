"""Signing in and posting through the Flask test client, and the demo's people (webapp/demo.py)."""

from __future__ import annotations

import socket

ADMIN = ("admin@demo.example.com", "demo-admin-password")
STAFF = ("staff@demo.example.com", "demo-staff-password")
OTHER_ADMIN = ("admin@other.example.com", "other-admin-password")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sign_in(client, email: str, password: str):
    """Sign `client` in through the real form (CSRF token included)."""
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def csrf_token(client) -> str:
    """A CSRF token valid for `client`'s session."""
    html = client.get("/login").get_data(as_text=True)
    marker = 'name="csrf_token" type="hidden" value="'
    if marker not in html:
        # Signed in: every page carries the token for htmx on <body>; "/" leads to the
        # person's own start page (or the password change they owe).
        html = client.get("/", follow_redirects=True).get_data(as_text=True)
        marker = '"X-CSRFToken": "'
    return html.split(marker, 1)[1].split('"', 1)[0]
