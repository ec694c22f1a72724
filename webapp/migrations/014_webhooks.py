"""Peewee migrations -- 014_webhooks.py: webhook endpoints of a white-label's shop, and the
delivery of each event to each endpoint (the outbox worker sends them; webapp/webhooks/)."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class WebhookEndpoint(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name="white_label_id", field="id", model=migrator.orm["white_label"], on_delete="CASCADE")
        url = pw.CharField(max_length=2000)
        description = pw.CharField(default="", max_length=200)
        events = pw.CharField(max_length=500)
        enabled = pw.BooleanField(default=True)
        disabled_reason = pw.CharField(default="", max_length=20)
        disabled_at = pw.DateTimeField(null=True)
        secret = pw.TextField()
        previous_secret = pw.TextField(default="")
        previous_secret_until = pw.DateTimeField(null=True)
        failing_since = pw.DateTimeField(null=True)
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"], null=True, on_delete="SET NULL")
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "webhook_endpoint"
            indexes = [(("white_label", "enabled"), False)]

    @migrator.create_model
    class WebhookDelivery(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name="white_label_id", field="id", model=migrator.orm["white_label"], on_delete="CASCADE")
        endpoint = pw.ForeignKeyField(column_name="endpoint_id", field="id", model=migrator.orm["webhook_endpoint"], on_delete="CASCADE")
        customer = pw.ForeignKeyField(column_name="customer_id", field="id", model=migrator.orm["customer"], null=True, on_delete="SET NULL")
        message_id = pw.CharField(max_length=64)
        event_type = pw.CharField(max_length=60)
        payload = pw.TextField()
        status = pw.CharField(default="pending", max_length=10)
        attempts = pw.IntegerField(default=0)
        next_attempt_at = pw.DateTimeField()
        retry_until = pw.DateTimeField()
        locked_until = pw.DateTimeField(null=True)
        last_attempt_at = pw.DateTimeField(null=True)
        last_status_code = pw.IntegerField(null=True)
        last_response_ms = pw.IntegerField(null=True)
        last_error = pw.CharField(default="", max_length=300)
        delivered_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "webhook_delivery"
            indexes = [
                (("status", "next_attempt_at"), False),
                (("endpoint", "created_at"), False),
                (("endpoint", "message_id"), True),
            ]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("webhook_delivery")
    migrator.remove_model("webhook_endpoint")
