"""Peewee migrations -- 003_activation.py: card payments, and forced password changes."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("user", must_change_password=pw.BooleanField(default=False))

    @migrator.create_model
    class Payment(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name="white_label_id", field="id", model=migrator.orm["white_label"], on_delete="CASCADE")
        customer = pw.ForeignKeyField(column_name="customer_id", field="id", model=migrator.orm["customer"], on_delete="CASCADE")
        gateway = pw.CharField(max_length=10)
        reference = pw.CharField(max_length=100, unique=True)
        idempotency_key = pw.CharField(max_length=100, unique=True)
        purpose = pw.CharField(max_length=20)
        amount = pw.IntegerField()
        currency = pw.CharField(max_length=3)
        status = pw.CharField(default="succeeded", max_length=12)
        card_brand = pw.CharField(default="", max_length=30)
        card_last4 = pw.CharField(default="", max_length=4)
        card_exp_month = pw.IntegerField(null=True)
        card_exp_year = pw.IntegerField(null=True)
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"], null=True, on_delete="SET NULL")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "payment"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("payment")
    migrator.remove_fields("user", "must_change_password")
