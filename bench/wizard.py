"""Target 1: a wizard step's "Continue" as htmx posts it, against the floor; partial bytes."""
from __future__ import annotations

import brotli

from .harness import (
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
    pooled,
    sign_in,
    throwaway_database,
)

LIMIT = 1.5
BYTES_LIMIT = 0.20
ROUNDS = 200


def run(kind: str, label: str) -> list[Row]:
    """The contact step's Continue (valid input, htmx) vs a POST of the same body to the floor."""
    rows = []
    with throwaway_database(kind) as url:
        app = build_app(pooled(url))
        client = app.test_client()
        token = sign_in(client)
        base = new_draft(client, token)
        body = {**CONTACT, "csrf_token": token, "action": "continue"}

        def step():
            response = expect(client.post(f"{base}/contact", data=body, headers=HTMX))
            assert 'id="wizard"' in decoded(response)

        def floor():
            expect(client.post(FLOOR_URL, data=body, headers=BROWSER))

        log(f"target 1 on {label}: {ROUNDS} rounds")
        samples = interleaved({"floor": floor, "step": step}, rounds=ROUNDS, warmup=10, budget_s=25)
        step_ms, floor_ms = median_ms(samples["step"]), median_ms(samples["floor"])
        ratio = step_ms / floor_ms
        rows.append(Row(
            f"1 wizard Continue, htmx POST ({label})",
            f"contact step {step_ms:.2f} ms, floor {floor_ms:.2f} ms (POST, same body; median of {len(samples['step'])})",
            ratio, f"<= {LIMIT:.2f}", ratio <= LIMIT,
        ))

        if kind == "sqlite":
            # The bytes htmx receives for the next step vs the page a plain form post lands on.
            partial = client.post(f"{base}/contact", data=body, headers={"HX-Request": "true"}).get_data()
            full = expect(client.get(f"{base}/address")).get_data()
            ratio = len(partial) / len(full)
            rows.append(Row(
                "1 wizard partial bytes vs full page",
                f"address step partial {len(partial):,} B vs full page {len(full):,} B "
                f"(brotli: {len(brotli.compress(partial, quality=4)):,} vs {len(brotli.compress(full, quality=4)):,} B)",
                ratio, f"<= {BYTES_LIMIT:.2f}", ratio <= BYTES_LIMIT,
            ))
    return rows
