"""Target 4: create-customer submit while the SMTP server stalls 2 s, vs one that answers at once.

A real SMTP server (aiosmtpd) on loopback, and outbox workers as threads of the same process
(`make run` has one), so stalled sends compete for the same interpreter. Submits whose email the
server answers at once and submits whose email it holds for 2 s are interleaved (one of each per
round, the order alternating), each followed by a floor request; eight worker threads keep many
sends stalled at once, and the row fails if no more than one ever was. The figure is each kind's
p95 divided by the floor's p95, stalled over instant.
"""

from __future__ import annotations

import asyncio
import time

from aiosmtpd.controller import Controller

from webapp.extensions import db
from webapp.models import Plan
from webapp.schedule import start_worker_thread

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
PER_KIND = 100  # submits of each kind, interleaved
STALL_S = 2.0
WORKERS = 8  # outbox worker threads: up to this many sends stalled at once
MIN_STALLED_AT_ONCE = 2  # one stalled send at a time proves little: the row fails below this


class SwitchableSMTP:
    """Accepts every message; a message to a `stall-` address waits STALL_S before its 250.
    Counts the stalled sends in progress, and the most at once."""

    def __init__(self) -> None:
        self.stalled_now = 0
        self.most_stalled = 0
        self.stalled = 0
        self.delivered = 0

    async def handle_DATA(self, server, session, envelope):
        if any(r.startswith("stall-") for r in envelope.rcpt_tos):
            self.stalled += 1
            self.stalled_now += 1
            self.most_stalled = max(self.most_stalled, self.stalled_now)
            try:
                await asyncio.sleep(STALL_S)
            finally:
                self.stalled_now -= 1
        self.delivered += 1
        return "250 OK"


def _ready_drafts(client, token: str, plan_id: int, count: int, tag: str) -> list[str]:
    """Drafts with every step answered (customer option), ready for "Create customer"."""
    bases = []
    for index in range(count):
        base = new_draft(client, token)
        contact = {**CONTACT, "email": f"{tag}-{index}@example.com", "csrf_token": token}
        for step, answers in (("contact", contact), ("address", ADDRESS), ("plan", {"plan": plan_id})):
            response = client.post(f"{base}/{step}", data={**answers, "csrf_token": token})
            assert response.status_code == 303, f"{step}: {response.status_code}"
        bases.append(base)
    return bases


def run() -> list[Row]:
    smtp = SwitchableSMTP()
    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with throwaway_database("sqlite") as url:
            app = build_app(
                url,
                MAIL_SERVER="127.0.0.1",
                MAIL_PORT=port,
                MAIL_TIMEOUT=10.0,
                OUTBOX_POLL_SECONDS=0.05,
                OUTBOX_BACKOFF_SECONDS=0.0,
            )
            client = app.test_client()
            token = sign_in(client)
            with app.app_context(), db.connection_context():
                plan_id = Plan.get(Plan.name == "Starter").id
            log(f"target 4: preparing {2 * PER_KIND} drafts")
            bases = {
                "instant": _ready_drafts(client, token, plan_id, PER_KIND, "instant"),
                "stalled": _ready_drafts(client, token, plan_id, PER_KIND, "stall"),
            }
            workers = [start_worker_thread(app) for _ in range(WORKERS)]
            samples: dict[str, list[float]] = {"instant": [], "stalled": [], "floor": []}
            try:
                log(
                    f"target 4: {2 * PER_KIND} submits, instant and stalled ({STALL_S:.0f} s) SMTP interleaved, "
                    f"{WORKERS} outbox worker threads"
                )
                for index in range(PER_KIND):
                    order = ("instant", "stalled") if index % 2 == 0 else ("stalled", "instant")
                    for kind in order:
                        start = time.perf_counter()
                        response = expect(
                            client.post(f"{bases[kind][index]}/review", data={"csrf_token": token}, headers=HTMX)
                        )
                        samples[kind].append(time.perf_counter() - start)
                        assert "successfully created" in decoded(response)
                        start = time.perf_counter()
                        expect(client.post(FLOOR_URL, data={"csrf_token": token}, headers=HTMX))
                        samples["floor"].append(time.perf_counter() - start)
                stalled_during = smtp.stalled
            finally:
                for _, stop in workers:
                    stop.set()
                for thread, _ in workers:
                    thread.join(timeout=STALL_S * 2 + 3)
    finally:
        controller.stop()

    floor_p95 = p95_ms(samples["floor"])
    instant, stalled = p95_ms(samples["instant"]), p95_ms(samples["stalled"])
    ratio = (stalled / floor_p95) / (instant / floor_p95)
    enough = smtp.most_stalled >= MIN_STALLED_AT_ONCE
    log(f"target 4: p95 {stalled:.1f} ms stalled, {instant:.1f} ms instant; {smtp.most_stalled} sends stalled at once")
    return [
        Row(
            "4 create submit while SMTP stalls 2 s (p95, divided by the floor)",
            f"stalled p50 {median_ms(samples['stalled']):.1f} / p95 {stalled:.1f} ms ({stalled / floor_p95:.2f}x floor) vs "
            f"instant p50 {median_ms(samples['instant']):.1f} / p95 {instant:.1f} ms ({instant / floor_p95:.2f}x floor); "
            f"floor p50 {median_ms(samples['floor']):.2f} / p95 {floor_p95:.2f} ms; {PER_KIND} submits of each kind "
            f"interleaved, {stalled_during} sends stalled meanwhile, up to {smtp.most_stalled} at once "
            f"({WORKERS} worker threads)"
            + ("" if enough else f": FAIL, fewer than {MIN_STALLED_AT_ONCE} stalled at once"),
            ratio,
            f"<= {LIMIT:.2f}",
            ratio <= LIMIT and enough,
        )
    ]
