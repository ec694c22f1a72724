"""Where a hot path's time goes: a pyinstrument profile of a few hundred requests.

    python -m bench.profile wizard   # the contact step's Continue, htmx (target 1)
    python -m bench.profile list     # the customers list at 20,000 customers (target 6)
    python -m bench.profile floor    # the bench's floor, for comparison
    python -m bench.profile api-create   # POST /api/v1/customers, the customer option (target 8)

The README's account of each unmet target quotes these trees. A profiler roughly doubles the
time of every call, so read the shares of the total, not the milliseconds. The requests go
through Flask's test client on a throwaway SQLite database, as in `make bench`, or with
`--database postgres` on a throwaway PostgreSQL one (pooled, as target 8 runs), where the
statements' round trips show.
"""

from __future__ import annotations

import argparse

from pyinstrument import Profiler

from testkit.wizard import CONTACT

from .harness import BROWSER, FLOOR_URL, HTMX, build_app, expect, new_draft, pooled, sign_in, throwaway_database

WARMUP = 20


def _request(path: str, client, token: str):
    """The call to profile for each path name."""
    from webapp.extensions import db
    from webapp.models import WhiteLabel

    from . import data

    if path == "wizard":
        base = new_draft(client, token)
        body = {**CONTACT, "csrf_token": token, "action": "continue"}
        return lambda: expect(client.post(f"{base}/contact", data=body, headers=HTMX))
    if path == "api-create":
        from . import api

        return api.creates(client, "profile")
    if path == "list":
        with client.application.app_context(), db.connection_context():
            data.generate(WhiteLabel.get(WhiteLabel.slug == "demo-telecom"), 20_000)
        return lambda: expect(client.get("/customers/", headers=BROWSER))
    body = {"csrf_token": token}
    return lambda: expect(client.post(FLOOR_URL, data=body, headers=BROWSER))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", choices=["wizard", "list", "floor", "api-create"])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--database", choices=["sqlite", "postgres"], default="sqlite", help="a throwaway database of this kind"
    )
    args = parser.parse_args()
    with throwaway_database(args.database) as url:
        client = build_app(pooled(url)).test_client()
        call = _request(args.path, client, sign_in(client))
        for _ in range(WARMUP):
            call()
        profiler = Profiler(interval=0.0002)
        with profiler:
            for _ in range(args.requests):
                call()
    print(f"{args.requests} requests: {args.path}")
    print(profiler.output_text(unicode=True, color=False))


if __name__ == "__main__":
    main()
