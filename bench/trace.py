"""How one wizard Continue travels through the code: modules entered, returns, draft parses.

    python -m bench.trace

Follows one htmx Continue of the contact step (customer option) through Flask's test client on
a throwaway SQLite database and prints:

- modules entered: the distinct modules of the `webapp` package whose functions ran;
- returns: how many times a call went back into a module the request had already left for
  another one (A -> B -> A counts one), a measure of modules calling each other back and forth;
- draft parses: how many times the draft's JSON answers were parsed.

Only the request itself is traced (signing in and starting the draft happen before). These
are counts, not times: they are the same on every machine for the same code.
"""

from __future__ import annotations

import json
import sys

from testkit.wizard import CONTACT

from .harness import HTMX, build_app, new_draft, sign_in, throwaway_database


def trace_request(call) -> dict:
    """Run `call()` under a profile hook; returns the counts described above."""
    sequence: list[str] = []

    def hook(frame, event, _arg):
        if event != "call":
            return
        module = frame.f_globals.get("__name__", "")
        if module.startswith("webapp") and (not sequence or sequence[-1] != module):
            sequence.append(module)

    parses = 0
    original_loads = json.loads

    def counting_loads(text, *args, **kwargs):
        nonlocal parses
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("webapp"):
            parses += 1
        return original_loads(text, *args, **kwargs)

    json.loads = counting_loads
    sys.setprofile(hook)
    try:
        call()
    finally:
        sys.setprofile(None)
        json.loads = original_loads
    seen: set[str] = set()
    returns = 0
    for index, module in enumerate(sequence):
        if module in seen and index > 0:
            returns += 1
        seen.add(module)
    return {"modules": sorted(seen), "returns": returns, "parses": parses}


def main() -> None:
    with throwaway_database("sqlite") as url:
        client = build_app(url).test_client()
        token = sign_in(client)
        base = new_draft(client, token)
        body = {**CONTACT, "csrf_token": token, "action": "continue"}

        def call():
            response = client.post(f"{base}/contact", data=body, headers=HTMX)
            assert response.status_code == 200, response.status_code

        figures = trace_request(call)
    print("one htmx Continue of the contact step (customer option)")
    print(f"  modules entered: {len(figures['modules'])}")
    for module in figures["modules"]:
        print(f"    {module}")
    print(f"  returns to a module already left: {figures['returns']}")
    print(f"  draft parses (json.loads from webapp): {figures['parses']}")


if __name__ == "__main__":
    main()
