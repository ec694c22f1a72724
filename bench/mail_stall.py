"""Target 4: create-customer submit while the SMTP server stalls 2 s, vs one that answers at once.

A real SMTP server (aiosmtpd) on loopback, and the app's own outbox worker in a thread of the
same process (as `make run` has it), so a stalled send competes for the same interpreter.
"""
from __future__ import annotations

import asyncio
import time

from aiosmtpd.controller import Controller

from webapp.extensions import db
from webapp.schedule import start_worker_thread
from webapp.models import Plan

from .harness import (
    ADDRESS,
    CONTACT,
    FLOOR_URL,
    HTMX,
    Row,
    build_app,
    decoded,
    expect,
    free_port,
    log,
    median_ms,
    new_draft,
    p95_ms,
    sign_in,
    throwaway_database,
)

LIMIT = 1.2
PER_PHASE = 100  # the stalled phase then outlasts one 2 s stall
STALL_S = 2.0


class SwitchableSMTP:
    """Accepts every message; waits `delay` seconds before answering DATA."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.started = 0
        self.delivered = 0

    async def handle_DATA(self, server, session, envelope):
        self.started += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        self.delivered += 1
        return "250 OK"


def _ready_drafts(client, token: str, plan_id: int, count: int, tag: str) -> list[str]:
    """Drafts with every step answered (customer option), ready for "Create customer"."""
    bases = []
    for index in range(count):
        base = new_draft(client, token)
        contact = {**CONTACT, "email": f"stall-{tag}-{index}@example.com", "csrf_token": token}
        for step, answers in (("contact", contact), ("address", ADDRESS), ("plan", {"plan": plan_id})):
            response = client.post(f"{base}/{step}", data={**answers, "csrf_token": token})
            assert response.status_code == 303, f"{step}: {response.status_code}"
        bases.append(base)
    return bases


def _submit_phase(client, token: str, bases: list[str]) -> tuple[list[float], list[float]]:
    """Time each submit (htmx, as a browser posts it) and a floor POST after it."""
    submits, floors = [], []
    for base in bases:
        start = time.perf_counter()
        response = expect(client.post(f"{base}/review", data={"csrf_token": token}, headers=HTMX))
        submits.append(time.perf_counter() - start)
        assert "successfully created" in decoded(response)
        start = time.perf_counter()
        expect(client.post(FLOOR_URL, data={"csrf_token": token}, headers=HTMX))
        floors.append(time.perf_counter() - start)
    return submits, floors


def run() -> list[Row]:
    smtp = SwitchableSMTP()
    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with throwaway_database("sqlite") as url:
            app = build_app(
                url, MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=10.0,
                OUTBOX_POLL_SECONDS=0.05, OUTBOX_BACKOFF_SECONDS=0.0,
            )
            client = app.test_client()
            token = sign_in(client)
            with app.app_context(), db.connection_context():
                plan_id = Plan.get(Plan.name == "Starter").id
            log(f"target 4: preparing {2 * PER_PHASE} drafts")
            instant_bases = _ready_drafts(client, token, plan_id, PER_PHASE, "instant")
            stall_bases = _ready_drafts(client, token, plan_id, PER_PHASE, "stall")
            worker, stop = start_worker_thread(app)
            try:
                log("target 4: submits with an SMTP server that answers at once")
                instant, instant_floor = _submit_phase(client, token, instant_bases)
                smtp.delay = STALL_S
                started_before = smtp.started
                log(f"target 4: submits with an SMTP server that stalls {STALL_S:.0f} s")
                stalled, stalled_floor = _submit_phase(client, token, stall_bases)
                stalled_sends = smtp.started - started_before
            finally:
                smtp.delay = 0.0  # let the worker finish what it has claimed, then stop it
                stop.set()
                worker.join(timeout=STALL_S + 3)
    finally:
        controller.stop()

    log(f"target 4: submit median {median_ms(instant):.1f} ms (instant), {median_ms(stalled):.1f} ms (stalled)")
    ratio = p95_ms(stalled) / p95_ms(instant)
    return [Row(
        "4 create submit, SMTP stalls 2 s (p95)",
        f"p95 {p95_ms(stalled):.1f} ms vs {p95_ms(instant):.1f} ms instant SMTP "
        f"({PER_PHASE} submits each; {stalled_sends} sends stalled meanwhile; floor median "
        f"{median_ms(stalled_floor):.2f} / {median_ms(instant_floor):.2f} ms)",
        ratio, f"<= {LIMIT:.2f}", ratio <= LIMIT and stalled_sends > 0,
    )]
