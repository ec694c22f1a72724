"""Command-line tools: schema, demo data, the outbox worker, and setting up real installs."""

from __future__ import annotations

import os
import signal
import sys
import threading

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app

from .extensions import db
from .forms import SINGLE_LINE_TEXT  # every text option: no line breaks or other control characters


def _connected(fn):
    """Run the command with an open database connection."""

    def wrapper(*args, **kwargs):
        with db.connection_context():
            return fn(*args, **kwargs)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def register_commands(app: Flask) -> None:
    """Attach the project's commands to `flask`."""

    @app.cli.command("db-upgrade")
    def db_upgrade():
        """Create or migrate the schema (the only way the schema changes)."""
        from .database import upgrade

        applied = upgrade()
        click.echo(f"Applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else "; up to date."))

    @app.cli.command("seed-demo")
    @_connected
    def seed_demo_command():
        """Load the demo white-labels, users, plans, numbers and customers (idempotent)."""
        from .demo import DEMO_LOGINS, seed_demo

        seed_demo()
        click.echo("Demo data is in place. Demo sign-ins:")
        for label, email, password in DEMO_LOGINS:
            click.echo(f"  {label}: {email} / {password}")

    @app.cli.command("outbox-worker")
    @click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
    @click.option(
        "--metrics-port",
        type=click.IntRange(1, 65535),
        default=None,
        help="Serve this worker's metrics on 127.0.0.1:PORT (when no web instance shares its "
        "PROMETHEUS_MULTIPROC_DIR).",
    )
    def outbox_worker(once: bool, metrics_port: int | None):
        """Deliver queued emails and webhooks with retries (run it as its own process in production).
        SIGTERM or Ctrl-C: the send in progress finishes, then the worker exits."""
        from .imports.service import run_imports
        from .mail import deliver_due
        from .schedule import run_worker
        from .webhooks.delivery import deliver_due_webhooks

        if once:
            with db.connection_context():
                click.echo(f"Sent {deliver_due()} email(s).")
                click.echo(f"Delivered {deliver_due_webhooks()} webhook(s).")
                click.echo(f"Imported {run_imports()} row(s).")
            return
        if metrics_port:
            from prometheus_client import start_http_server

            start_http_server(metrics_port, addr="127.0.0.1")
        stop = threading.Event()

        def graceful(signum, _frame):
            click.echo(f"{signal.Signals(signum).name}: finishing the send in progress, then stopping.")
            stop.set()

        signal.signal(signal.SIGTERM, graceful)
        signal.signal(signal.SIGINT, graceful)
        click.echo("Outbox worker running; Ctrl-C to stop.")
        sys.stdout.flush()
        run_worker(current_app._get_current_object(), stop)
        click.echo("Outbox worker stopped.")

    @app.cli.command("reencrypt-secrets")
    @_connected
    def reencrypt_secrets():
        """Encrypt every stored Stripe secret key and webhook signing secret, and the link of
        every email waiting in the outbox, with the newest SECRETS_ENCRYPTION_KEYS key (after
        adding a key, or to encrypt keys stored before encryption arrived)."""
        from .crypto import PREFIX, decrypt, encrypt
        from .models import OutboxEmail, WhiteLabel

        done, unreadable = 0, []
        with db.atomic():
            # Raw column values: the model reads a value that no configured key opens as empty.
            for column in ("stripe_secret_key", "stripe_webhook_secret"):
                cursor = db.execute_sql(
                    f"SELECT id, slug, {column} FROM white_label WHERE {column} <> {db.param}", ("",)
                )
                for white_label_id, slug, stored in cursor.fetchall():
                    plain = decrypt(stored)
                    if plain is None:
                        unreadable.append(slug)
                        continue
                    WhiteLabel.update({getattr(WhiteLabel, column): plain}).where(
                        WhiteLabel.id == white_label_id
                    ).execute()
                    done += 1
            links, lost = 0, 0
            waiting = OutboxEmail.select(OutboxEmail.id, OutboxEmail.secret_link).where(
                (OutboxEmail.secret_link != "") & OutboxEmail.status.in_([OutboxEmail.QUEUED, OutboxEmail.SENDING])
            )
            for email in waiting:
                plain = decrypt(email.secret_link) if email.secret_link.startswith(PREFIX) else None
                if plain is None:
                    lost += 1  # the outbox worker fails it, saying why, when it comes to send it
                    continue
                OutboxEmail.update(secret_link=encrypt(plain)).where(
                    (OutboxEmail.id == email.id) & (OutboxEmail.secret_link == email.secret_link)
                ).execute()
                links += 1
        click.echo(f"Re-encrypted {done} stored secret(s) and {links} queued email link(s) with the newest key.")
        if lost:
            click.echo(
                f"Could not decrypt the links of {lost} queued email(s) with any configured key; they "
                "will fail when the outbox comes to send them. Send those people a new link.",
                err=True,
            )
        if unreadable:
            click.echo(
                f"Could not decrypt {len(unreadable)} with any configured key: {', '.join(sorted(set(unreadable)))}. "
                "Enter those Stripe keys and signing secrets again in Settings > Payment gateway.",
                err=True,
            )
        if unreadable or lost:
            sys.exit(1)

    @app.cli.command("create-whitelabel")
    @click.option("--name", required=True, type=SINGLE_LINE_TEXT)
    @click.option("--slug", required=True, type=SINGLE_LINE_TEXT)
    @click.option("--country", required=True, type=SINGLE_LINE_TEXT, help="ISO 3166 two-letter code, e.g. NZ")
    @click.option("--currency", required=True, type=SINGLE_LINE_TEXT, help="ISO 4217 code, e.g. NZD")
    @click.option("--support-email", required=True, type=SINGLE_LINE_TEXT)
    @click.option("--time-zone", default="UTC", type=SINGLE_LINE_TEXT)
    @click.option("--credit-limit", default=0, type=int, help="In minor units (cents).")
    @click.option(
        "--locale",
        default="",
        type=SINGLE_LINE_TEXT,
        help="How its customers type amounts, e.g. de_CH; default from the country (NZ: en_NZ).",
    )
    @click.option(
        "--sign-in-host",
        default="",
        type=SINGLE_LINE_TEXT,
        help="A host name of its own (voice.acme.example) where its customers sign in; default: /s/<slug>/sign-in.",
    )
    @_connected
    def create_whitelabel(name, slug, country, currency, support_email, time_zone, credit_limit, locale, sign_in_host):
        """Set up a new white-label (operator task)."""
        from .models import WhiteLabel
        from .money import locale_for_country, valid_locale

        if WhiteLabel.select().where(WhiteLabel.slug == slug).exists():
            raise click.ClickException(f"A white-label with slug {slug!r} already exists.")
        sign_in_host = sign_in_host.strip().lower()
        if sign_in_host and WhiteLabel.select().where(WhiteLabel.sign_in_host == sign_in_host).exists():
            raise click.ClickException(f"Another white-label already signs its customers in at {sign_in_host}.")
        if locale and not valid_locale(locale):
            raise click.ClickException(f"Unknown locale {locale!r}: use a language and country like en_NZ or de_CH.")
        label = WhiteLabel.create(
            name=name,
            slug=slug,
            display_name=name,
            support_email=support_email,
            country=country.upper(),
            currency=currency.upper(),
            time_zone=time_zone,
            credit_limit=credit_limit,
            locale=locale or locale_for_country(country),
            sign_in_host=sign_in_host,
        )
        click.echo(f"Created white-label {label.name} (id {label.id}); amounts are read as in {label.locale}.")

    @app.cli.command("create-user")
    @click.option("--email", required=True, type=SINGLE_LINE_TEXT)
    @click.option("--white-label", "slug", required=True, type=SINGLE_LINE_TEXT, help="The white-label's slug.")
    @click.option("--role", type=click.Choice(["administrator", "staff"]), default="administrator")
    @click.option("--first-name", default="", type=SINGLE_LINE_TEXT)
    @click.option("--last-name", default="", type=SINGLE_LINE_TEXT)
    @click.password_option(help="Prompted for when not given.", type=SINGLE_LINE_TEXT)
    @_connected
    def create_user(email, slug, role, first_name, last_name, password):
        """Create a white-label user (operator task)."""
        from .auth.service import hash_password, normalise_email
        from .models import User, WhiteLabel, WhiteLabelMembership

        try:
            email = normalise_email(validate_email(email, check_deliverability=False).normalized)
        except EmailNotValidError as error:
            raise click.ClickException(str(error)) from error
        label = WhiteLabel.get_or_none(WhiteLabel.slug == slug)
        if label is None:
            raise click.ClickException(f"No white-label with slug {slug!r}.")
        if User.select().where(User.email == email).exists():
            raise click.ClickException(f"A user with email {email} already exists.")
        with db.atomic():
            user = User.create(
                email=email, password_hash=hash_password(password), first_name=first_name, last_name=last_name
            )
            WhiteLabelMembership.create(user=user, white_label=label, role=role)
        click.echo(f"Created {role} {email} in {label.name}.")

    @app.cli.command("purge-drafts")
    @click.option("--days", default=None, type=int, help="Age in days (default DRAFT_MAX_AGE_DAYS, 30).")
    @_connected
    def purge_drafts(days):
        """Delete unfinished create-customer drafts untouched for 30 days (run daily from cron)."""
        from .onboarding.wizard import purge_old_drafts

        removed = purge_old_drafts(days or current_app.config["DRAFT_MAX_AGE_DAYS"])
        click.echo(f"Removed {removed} draft(s).")

    @app.cli.command("purge-emails")
    @click.option(
        "--days", default=None, type=click.IntRange(min=0), help="Age in days (default OUTBOX_RETENTION_DAYS, 30)."
    )
    @_connected
    def purge_emails(days):
        """Empty the bodies of emails sent or failed more than 30 days ago, keeping the rows (the
        outbox worker runs this too)."""
        from .mail import purge_sent_emails

        days = current_app.config["OUTBOX_RETENTION_DAYS"] if days is None else days
        emptied = purge_sent_emails(days)
        click.echo(f"Emptied the bodies of {emptied} sent or failed email(s) older than {days} days.")

    @app.cli.command("expire-activations")
    @_connected
    def expire_activations_command():
        """Mark pending customers whose activation link expired as Expired (the worker runs this too)."""
        from .activation.service import expire_activations

        click.echo(f"Marked {expire_activations()} customer(s) expired.")

    @app.cli.command("reconcile-payments")
    @_connected
    def reconcile_payments_command():
        """Ask Stripe about every payment created but not settled after 15 minutes (white-labels
        without a webhook; a day for those with one) and record, refund or mark it (the worker
        runs this too)."""
        from .payments.intents import reconcile

        counts = reconcile()
        summary = ", ".join(f"{outcome}: {count}" for outcome, count in sorted(counts.items()))
        click.echo(f"Checked {sum(counts.values())} payment(s) with Stripe" + (f" ({summary})." if summary else "."))

    @app.cli.command("send-activation-reminders")
    @_connected
    def send_reminders_command():
        """Queue one reminder per activation link, 24 hours before it expires (the worker runs this too)."""
        from .activation.service import send_reminders

        click.echo(f"Queued {send_reminders()} reminder(s).")

    @app.cli.command("serve-dev")
    @click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int)
    @click.option("--mail-port", default=lambda: int(os.environ.get("MAIL_PORT", "1025")), type=int)
    def serve_dev(port: int, mail_port: int):
        """Development server with the local mail catcher and the outbox worker in-process."""
        from .demo import DEMO_LOGINS
        from .mailcatcher import start_mail_catcher
        from .schedule import start_worker_thread

        app_obj = current_app._get_current_object()
        if app_obj.config["APP_ENV"] != "development":
            raise click.ClickException("serve-dev is for development; use gunicorn wsgi:app in production.")
        catcher = start_mail_catcher("127.0.0.1", mail_port, app_obj.config["MAIL_CATCHER_DIR"])
        start_worker_thread(app_obj)
        click.echo("")
        click.echo(f"  PBX onboarding console: http://127.0.0.1:{port}")
        click.echo(f"  Mail caught locally:    http://127.0.0.1:{port}/dev/mail")
        for label, email, password in DEMO_LOGINS:
            click.echo(f"  {label}: {email} / {password}")
        click.echo("")
        sys.stdout.flush()
        from werkzeug.serving import run_simple

        try:
            # run_simple, not app.run: Flask ignores app.run() inside a `flask` command.
            run_simple("127.0.0.1", port, app_obj, threaded=True, use_reloader=False)
        finally:
            catcher.stop()
