"""Peewee migrations -- 012_stripe_records.py: a card payment confirmed at Stripe is never lost.

- white_label.stripe_webhook_secret: the signing secret of the white-label's Stripe webhook
  endpoint, stored encrypted like the secret key (TEXT: a Fernet token is long).
- payment.refunded_at: when a payment was returned (an activation that never finished).
- stripe_intent: every PaymentIntent the app creates, with what it is for, so the webhook and
  the reconciliation job can record it (once) or refund it.
- stripe_event: webhook events already handled.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("white_label", stripe_webhook_secret=pw.TextField(default=""))
    migrator.add_fields("payment", refunded_at=pw.DateTimeField(null=True))

    @migrator.create_model
    class StripeIntent(pw.Model):
        id = pw.AutoField()
        intent_id = pw.CharField(max_length=255, unique=True)
        white_label = pw.ForeignKeyField(column_name="white_label_id", field="id", model=migrator.orm["white_label"], on_delete="CASCADE")
        customer = pw.ForeignKeyField(column_name="customer_id", field="id", model=migrator.orm["customer"], on_delete="CASCADE")
        purpose = pw.CharField(max_length=20)
        amount = pw.IntegerField()
        currency = pw.CharField(max_length=3)
        token_hash = pw.CharField(max_length=64, null=True)
        attempt_key = pw.CharField(max_length=100, null=True)
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"], null=True, on_delete="SET NULL")
        status = pw.CharField(default="created", max_length=10)
        payment = pw.ForeignKeyField(column_name="payment_id", field="id", model=migrator.orm["payment"], null=True, on_delete="SET NULL")
        created_at = pw.DateTimeField()
        checked_at = pw.DateTimeField(null=True)
        settled_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "stripe_intent"
            indexes = [(("status", "created_at"), False), (("customer", "status"), False)]

    @migrator.create_model
    class StripeEvent(pw.Model):
        id = pw.AutoField()
        event_id = pw.CharField(max_length=255, unique=True)
        white_label = pw.ForeignKeyField(column_name="white_label_id", field="id", model=migrator.orm["white_label"], on_delete="CASCADE")
        kind = pw.CharField(max_length=100)
        received_at = pw.DateTimeField()

        class Meta:
            table_name = "stripe_event"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("stripe_event")
    migrator.remove_model("stripe_intent")
    migrator.remove_fields("payment", "refunded_at")
    migrator.remove_fields("white_label", "stripe_webhook_secret")
