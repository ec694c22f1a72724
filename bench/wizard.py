"""Target 1: a wizard step's "Continue" as htmx posts it, against two floors; bytes per step.

Two floors, both measured in the same interleaved rounds as the step:

- the bare floor: a trivial template through every hook a page goes through (harness.FLOOR_URL);
- the saved-step floor: what any saved step must do, and nothing of this app's own: read one row
  (the draft, by its key), commit one update to it, and render a template of the same size as
  the step's answer (a static one, so nothing of WTForms or the macros is in it).

The 1.5x target divides the step by the saved-step floor: what is left is the app's own overhead
(forms, validation, the macros). The bare floor is reported beside it.

Bytes per step: every step of both wizard options, answered as a browser does it, with htmx (the
POST that saves a step and answers with the next one) and without JavaScript (the POST and its
303, then the GET of the next page), counted as they go on the wire, compressed as a current
browser accepts them (brotli). This replaces the retired "partial vs full page" target.
"""

from __future__ import annotations

from flask import render_template
from jinja2 import ChoiceLoader, DictLoader

from .harness import (
    ADDRESS,
    BROWSER,
    CONTACT,
    FLOOR_URL,
    HTMX,
    Row,
    build_app,
    decoded,
    expect,
    interleaved,
    log,
    median_ms,
    new_draft,
    p95_ms,
    pooled,
    sign_in,
    throwaway_database,
)

LIMIT = 1.5
ROUNDS = 200
SAVED_STEP_URL = "/_bench/saved-step/<key>"
PBX = {"time_zone": "Pacific/Auckland", "extension_length": "3", "default_caller_id": "", "voicemail_to_email": "y"}


def register_saved_step_floor(app, size: int) -> None:
    """The saved-step floor: read the draft, commit one update to it, render `size` bytes of a
    static template (through every hook a page goes through, like the bare floor)."""
    from webapp.extensions import db
    from webapp.models import CustomerDraft, utcnow

    filler = "<p>" + "x" * 70 + "</p>\n"
    body = (filler * (size // len(filler) + 1))[: max(0, size - 40)]
    app.jinja_env.loader = ChoiceLoader(
        [DictLoader({"_bench/saved_step.html": '<div id="wizard">{{ key }}' + body + "</div>"}), app.jinja_env.loader]
    )

    def saved_step(key):
        draft = CustomerDraft.get(CustomerDraft.key == key)
        with db.atomic():
            CustomerDraft.update(updated_at=utcnow()).where(CustomerDraft.id == draft.id).execute()
        return render_template("_bench/saved_step.html", key=key)

    app.add_url_rule(SAVED_STEP_URL, "bench_saved_step", saved_step, methods=["GET", "POST"])


def run(kind: str, label: str) -> list[Row]:
    """The contact step's Continue (valid input, htmx) vs the two floors, POSTing the same body."""
    rows = []
    with throwaway_database(kind) as url:
        app = build_app(pooled(url))
        # The step's answer, to size the saved-step floor's template (measured on a twin app:
        # routes cannot be added to an app that has served a request).
        probe = app.test_client()
        token = sign_in(probe)
        base = new_draft(probe, token)
        body = {**CONTACT, "csrf_token": token, "action": "continue"}
        size = len(decoded(expect(probe.post(f"{base}/contact", data=body, headers=HTMX))).encode())
        app = _rebuilt(url, size)
        client = app.test_client()
        token = sign_in(client)
        base = new_draft(client, token)
        key = base.rsplit("/", 1)[1]
        body = {**CONTACT, "csrf_token": token, "action": "continue"}

        def step():
            response = expect(client.post(f"{base}/contact", data=body, headers=HTMX))
            assert 'id="wizard"' in decoded(response)

        def floor():
            expect(client.post(FLOOR_URL, data=body, headers=BROWSER))

        def saved_floor():
            response = expect(client.post(SAVED_STEP_URL.replace("<key>", key), data=body, headers=HTMX))
            assert len(decoded(response).encode()) >= size * 0.95

        log(f"target 1 on {label}: {ROUNDS} rounds (step {size:,} B)")
        samples = interleaved(
            {"floor": floor, "saved": saved_floor, "step": step}, rounds=ROUNDS, warmup=10, budget_s=30
        )
        step_ms, floor_ms, saved_ms = (median_ms(samples[n]) for n in ("step", "floor", "saved"))
        ratio = step_ms / saved_ms
        rows.append(
            Row(
                f"1 wizard Continue, htmx POST ({label})",
                f"contact step p50 {step_ms:.2f} / p95 {p95_ms(samples['step']):.2f} ms; saved-step floor (read a row, "
                f"commit an update, render {size:,} B) p50 {saved_ms:.2f} / p95 {p95_ms(samples['saved']):.2f} ms; bare floor "
                f"p50 {floor_ms:.2f} / p95 {p95_ms(samples['floor']):.2f} ms (median of {len(samples['step'])}; "
                f"{step_ms / floor_ms:.2f}x the bare floor)",
                ratio,
                f"<= {LIMIT:.2f}",
                ratio <= LIMIT,
            )
        )
        if kind == "sqlite":
            rows.extend(bytes_per_step(app))
    return rows


def _rebuilt(url: str, size: int):
    """The app again on the same database, with the saved-step floor sized to the step."""
    import logging

    from webapp import create_app

    from .harness import BENCH_CONFIG, close_database, register_floor

    close_database()
    app = create_app({**BENCH_CONFIG, "DATABASE_URL": pooled(url)})
    logging.getLogger().setLevel(logging.WARNING)
    register_floor(app)
    register_saved_step_floor(app, size)
    return app


def _wire(response) -> int:
    """Bytes of the response on the wire: its (compressed) body and its header block."""
    headers = sum(len(k) + len(v) + 4 for k, v in response.headers.items())
    return len(response.get_data()) + headers + len("HTTP/1.1 200 OK\r\n\r\n")


def bytes_per_step(app) -> list[Row]:
    """Every step of both options as a browser goes through it, with htmx and without JavaScript."""
    from webapp.extensions import db
    from webapp.models import PhoneNumber, Plan

    with app.app_context(), db.connection_context():
        plans = {p.name: str(p.id) for p in Plan.select()}
        free = [p.number for p in PhoneNumber.select().where(PhoneNumber.customer.is_null()).limit(2)]
    rows = []
    for option, steps in (
        (
            "customer",
            [
                ("contact", {**CONTACT, "email": "bytes-{n}@example.com"}),
                ("address", ADDRESS),
                ("plan", {"plan": plans["Starter"]}),
                ("review", {}),
            ],
        ),
        (
            "white_label",
            [
                ("contact", {**CONTACT, "authorized": "y", "email": "bytes-wl-{n}@example.com"}),
                ("address", ADDRESS),
                ("plan", {"plan": plans["Business"]}),
                ("numbers", {"numbers": ["{number}"]}),
                ("pbx", PBX),
                ("review", {}),
            ],
        ),
    ):
        sizes = {}
        for mode in ("htmx", "no JavaScript"):
            client = app.test_client()
            token = sign_in(client)
            response = client.post(
                "/customers/new/",
                data={"administered_by": option, "csrf_token": token},
                headers=HTMX if mode == "htmx" else BROWSER,
            )
            per_step = [_wire(response)]
            location = response.headers.get("HX-Push-Url") or response.headers.get("Location", "")
            if mode != "htmx":
                per_step[-1] += _wire(expect(client.get(location, headers=BROWSER)))
            base = "/customers/new/" + (location.split("/customers/new/", 1)[1].split("/", 1)[0])
            for slug, answers in steps:
                number = free[0] if mode == "htmx" else free[1]  # each mode's customer takes its own number
                data = {
                    k: (
                        v.format(n=mode.replace(" ", ""))
                        if isinstance(v, str)
                        else [item.format(number=number) for item in v]
                        if isinstance(v, list)
                        else v
                    )
                    for k, v in answers.items()
                }
                data.update(csrf_token=token, action="continue")
                response = client.post(f"{base}/{slug}", data=data, headers=HTMX if mode == "htmx" else BROWSER)
                assert response.status_code in (200, 303), (option, mode, slug, response.status_code)
                wire = _wire(response)
                if response.status_code == 303 or (mode == "htmx" and response.headers.get("HX-Redirect")):
                    target = response.headers.get("Location") or response.headers.get("HX-Redirect")
                    wire += _wire(expect(client.get(target, headers=BROWSER)))
                per_step.append(wire)
            sizes[mode] = per_step
        label = "the new customer" if option == "customer" else "the white-label administrator"
        rows.append(
            Row(
                f"1 bytes per step on the wire, brotli ({label})",
                f"{len(sizes['htmx'])} steps with htmx: "
                + " + ".join(f"{b / 1000:.1f}" for b in sizes["htmx"])
                + f" = {sum(sizes['htmx']) / 1000:.1f} KB; without JavaScript (POST, 303, GET the page): "
                + " + ".join(f"{b / 1000:.1f}" for b in sizes["no JavaScript"])
                + f" = {sum(sizes['no JavaScript']) / 1000:.1f} KB",
                sum(sizes["htmx"]) / sum(sizes["no JavaScript"]),
                "figure",
                None,
            )
        )
    log("target 1: bytes per step measured for both options")
    return rows
