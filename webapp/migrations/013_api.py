"""Peewee migrations -- 013_api.py: API keys and the Idempotency-Keys of the integration API."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class ApiKey(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name="white_label_id", field="id", model=migrator.orm["white_label"],
                                         on_delete="CASCADE")
        name = pw.CharField(max_length=100)
        prefix = pw.CharField(max_length=16, unique=True)
        secret_hash = pw.CharField(max_length=64, unique=True)
        scope = pw.CharField(max_length=12)
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        created_at = pw.DateTimeField()
        last_used_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)
        revoked_by = pw.ForeignKeyField(column_name="revoked_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL", backref="revoked_api_keys")

        class Meta:
            table_name = "api_key"
            indexes = [(("white_label", "created_at"), False)]

    @migrator.create_model
    class ApiIdempotencyKey(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name="white_label_id", field="id", model=migrator.orm["white_label"],
                                         on_delete="CASCADE")
        key = pw.CharField(max_length=255)
        api_key = pw.ForeignKeyField(column_name="api_key_id", field="id", model=migrator.orm["api_key"],
                                     null=True, on_delete="SET NULL")
        request_hash = pw.CharField(max_length=64)
        status = pw.IntegerField()
        response_body = pw.TextField()
        location = pw.CharField(max_length=255, default="")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "api_idempotency_key"
            indexes = [(("white_label", "key"), True), (("created_at",), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("api_idempotency_key")
    migrator.remove_model("api_key")
