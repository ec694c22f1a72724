"""The pages an emailed link opens (activation, invitation) share a few rules: they hold a
secret, so they are never cached nor sent on as a referrer; a link that cannot be used says why
with the right status; and a white-label member signed in to the console cannot use a link meant
for a customer (they would act as someone they are not)."""

from __future__ import annotations

from flask_login import current_user

from .branding import request_brand
from .models import Customer, WhiteLabelMembership
from .templating import render
from .tokens import GONE_STATUS


def private(response):
    """The page holds a secret link: never cached, never sent on as a referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def gone(state: str, customer: Customer | None, *, invitation: bool = False):
    """The page for a link that cannot be used (expired, used, replaced, cancelled, unknown)."""
    return private(
        render(
            "links/gone.html",
            status=GONE_STATUS[state],
            state=state,
            # An unknown link names no customer: the brand this browser signed in under, if any.
            brand=customer.white_label if customer else request_brand(),
            customer=customer,
            invitation=invitation,
        )
    )


def signed_in_white_label_member() -> bool:
    return (
        current_user.is_authenticated
        and WhiteLabelMembership.select().where(WhiteLabelMembership.user == current_user.id).exists()
    )


def white_label_member_refused(*, invitation: bool = False):
    """403: only the customer (or the invited person) can use the link, not the console's people."""
    return private(render("links/admin_refused.html", status=403, invitation=invitation))
