"""How one wizard Continue travels through the code: modules entered, returns, draft parses.

    python -m bench.trace

Follows one htmx Continue of the contact step (customer option) through Flask's test client on
a throwaway SQLite database and prints:

- modules entered: the distinct modules of the `webapp` package whose functions ran;
- returns: how many times a call went back into a module the request had already left for
  another one (A -> B -> A counts one), a measure of modules calling each other back and forth;
- draft parses: how many times the draft's JSON answers were parsed.

Each is counted for the whole request (the app's hooks included: sign-in, logging, metrics...)
and for the wizard's view alone (from entering the step's view until it returns). Only the request
itself is traced (signing in and starting the draft happen before). These are counts, not times:
they are the same on every machine for the same code.
"""

from __future__ import annotations

import json
import sys

from testkit.wizard import CONTACT

from .harness import HTMX, build_app, new_draft, sign_in, throwaway_database

VIEW = ("webapp.onboarding.routes", "step")  # the view a step's Continue reaches


def _counts(sequence: list[str]) -> dict:
    seen: set[str] = set()
    returns = 0
    for index, module in enumerate(sequence):
        if module in seen and index > 0:
            returns += 1
        seen.add(module)
    return {"modules": sorted(seen), "returns": returns}


def trace_request(call) -> dict:
    """Run `call()` under a profile hook; returns the counts described above."""
    sequence: list[str] = []
    in_view: list[str] = []
    depth = {"view": 0}

    def hook(frame, event, _arg):
        module = frame.f_globals.get("__name__", "")
        if (module, frame.f_code.co_name) == VIEW:
            depth["view"] += 1 if event == "call" else (-1 if event == "return" else 0)
        if event != "call":
            return
        if module.startswith("webapp") and (not sequence or sequence[-1] != module):
            sequence.append(module)
        if depth["view"] and module.startswith("webapp") and (not in_view or in_view[-1] != module):
            in_view.append(module)

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
    return {**_counts(sequence), "view": _counts(in_view), "parses": parses}


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
    view = figures["view"]
    print("one htmx Continue of the contact step (customer option)")
    print(
        f"  the whole request: {len(figures['modules'])} webapp modules entered, "
        f"{figures['returns']} returns to a module already left"
    )
    print(f"  the wizard's view alone: {len(view['modules'])} modules entered, {view['returns']} returns")
    for module in view["modules"]:
        print(f"    {module}")
    print(f"  draft parses (json.loads from webapp): {figures['parses']}")


if __name__ == "__main__":
    main()
