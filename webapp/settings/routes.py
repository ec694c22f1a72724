from flask import current_app, flash, url_for
from flask_login import current_user

from ..audit import audit
from ..extensions import db
from ..forms import form_status
from ..http import page_number, see_other
from ..models import WhiteLabel
from ..security import admin_required
from ..templating import render
from ..tenancy import belongs_to, current_white_label
from . import bp
from .forms import PaymentGatewayForm, TermsForm, key_mode, masked_secret, masked_webhook_secret


@bp.get("/")
@admin_required
def index():
    """The administrator's settings pages, one link each."""
    from ..branding import external_sign_in_url

    return render("settings/index.html", sign_in_url=external_sign_in_url(current_white_label()))


@bp.route("/payment-gateway", methods=["GET", "POST"])
@admin_required
def payment_gateway():
    """Choose how customers pay by card (none, sandbox or Stripe) and store the Stripe keys."""
    white_label = current_white_label()
    form = PaymentGatewayForm(
        stored_secret_key=white_label.stripe_secret_key,
        stored_webhook_secret=white_label.stripe_webhook_secret,
        data={
            "payment_gateway": white_label.payment_gateway,
            "stripe_publishable_key": white_label.stripe_publishable_key,
        },
    )
    if form.validate_on_submit():
        save_payment_gateway(
            white_label,
            form.payment_gateway.data,
            form.stripe_publishable_key.data,
            form.secret_key_to_store,
            actor_id=current_user.id,
            webhook_secret=form.webhook_secret_to_store,
        )
        flash("Payment gateway saved.", "success")
        return see_other(url_for("settings.payment_gateway"))
    return render(
        "settings/payment_gateway.html",
        form=form,
        stored_secret=masked_secret(white_label.stripe_secret_key) if white_label.stripe_secret_key else None,
        # The typed secret is never sent back, so say it has to be typed again.
        secret_discarded=form.is_submitted() and bool(form.stripe_secret_key.data),
        stored_webhook_secret=(
            masked_webhook_secret(white_label.stripe_webhook_secret) if white_label.stripe_webhook_secret else None
        ),
        webhook_secret_discarded=form.is_submitted() and bool(form.stripe_webhook_secret.data),
        # What to paste into Stripe: built from APP_BASE_URL, never from the request's Host.
        webhook_url=current_app.config["APP_BASE_URL"].rstrip("/")
        + url_for("payments.stripe_webhook", white_label_id=white_label.id),
        status=form_status(form),
    )


@bp.route("/terms", methods=["GET", "POST"])
@admin_required
def terms():
    """Set the address of the white-label's terms of service, which the activation page links to."""
    white_label = current_white_label()
    form = TermsForm(data={"terms_url": white_label.terms_url})
    if form.validate_on_submit():
        if form.terms_url.data != white_label.terms_url:
            with db.atomic():
                WhiteLabel.update(terms_url=form.terms_url.data).where(WhiteLabel.id == white_label.id).execute()
                audit(white_label, "terms_url_changed", actor=current_user.id, terms_url=form.terms_url.data)
        flash("Terms of service saved.", "success")
        return see_other(url_for("settings.terms"))
    return render("settings/terms.html", form=form, status=form_status(form))


def save_payment_gateway(
    white_label: WhiteLabel,
    gateway: str,
    publishable_key: str,
    secret_key: str,
    *,
    actor_id: int,
    webhook_secret: str | None = None,
) -> None:
    """Switch the white-label's gateway (Stripe keys only change when Stripe is chosen) and audit it."""
    changed = [WhiteLabel.payment_gateway]
    white_label.payment_gateway = gateway
    if gateway == "stripe":
        white_label.stripe_publishable_key = publishable_key
        white_label.stripe_secret_key = secret_key
        changed += [WhiteLabel.stripe_publishable_key, WhiteLabel.stripe_secret_key]
        if webhook_secret is not None:
            white_label.stripe_webhook_secret = webhook_secret
            changed.append(WhiteLabel.stripe_webhook_secret)
    # The audit trail names the gateway and mode; a key never goes into it.
    detail = f"stripe ({key_mode(publishable_key)} mode)" if gateway == "stripe" else gateway
    with db.atomic():
        white_label.save(only=changed)
        audit(white_label, "payment_gateway_changed", actor=actor_id, note=detail)


BILLING_PAGE_SIZE = 25


def _ledger_page(white_label, page: int):
    """One page of the white-label's own ledger, newest first, with each entry's customer."""
    from peewee import JOIN

    from ..models import Customer, LedgerEntry

    rows = list(
        LedgerEntry.select(LedgerEntry, Customer)
        .join(Customer, JOIN.LEFT_OUTER, on=(LedgerEntry.customer == Customer.id))
        .where(belongs_to(LedgerEntry, of=white_label) & (LedgerEntry.account == LedgerEntry.WHITE_LABEL))
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .offset((page - 1) * BILLING_PAGE_SIZE)
        .limit(BILLING_PAGE_SIZE + 1)
    )
    return rows[:BILLING_PAGE_SIZE], len(rows) > BILLING_PAGE_SIZE


@bp.get("/billing")
@admin_required
def billing():
    """The white-label account: balance, credit limit and every debit, newest first."""
    from ..ledger import available_credit, white_label_balance

    white_label = current_white_label()
    page = page_number()
    rows, has_next = _ledger_page(white_label, page)
    return render(
        "settings/billing.html",
        rows=rows,
        page=page,
        has_next=has_next,
        balance=white_label_balance(white_label),
        available=available_credit(white_label),
    )


@bp.get("/billing.csv")
@admin_required
def billing_csv():
    """The whole white-label ledger as CSV, newest first."""
    from flask import Response
    from peewee import JOIN

    from ..models import Customer, LedgerEntry
    from ..spreadsheets import CsvLines, safe_cell

    white_label = current_white_label()
    query = (
        LedgerEntry.select(
            LedgerEntry.created_at,
            LedgerEntry.kind,
            LedgerEntry.amount,
            LedgerEntry.currency,
            LedgerEntry.reason,
            Customer.id,
            Customer.business_name,
        )
        .join(Customer, JOIN.LEFT_OUTER, on=(LedgerEntry.customer == Customer.id))
        .where(belongs_to(LedgerEntry, of=white_label) & (LedgerEntry.account == LedgerEntry.WHITE_LABEL))
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
        .tuples()
    )

    def rows():
        lines = CsvLines()
        yield lines.line(["date_utc", "type", "amount", "currency", "description", "customer_id", "customer"])
        for created_at, kind, amount, currency, reason, customer_id, business in query.iterator():
            signed = amount if kind == LedgerEntry.CREDIT else -amount
            # The amount stays a number; the text people wrote can never run as a formula.
            yield lines.line(
                [
                    created_at.isoformat(),
                    kind,
                    f"{signed / 100:.2f}",
                    currency,
                    safe_cell(reason),
                    customer_id or "",
                    safe_cell(business),
                ]
            )

    return Response(
        rows(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{white_label.slug}-ledger.csv"'},
    )
