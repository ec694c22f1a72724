"""Peewee migrations -- 021_customer_imports.py: CSV imports of new customers (issue 17).

- `customer_import`: one uploaded file, checked on upload and created by the worker once an
  administrator confirms; claimed with a lease like an outbox email.
- `customer_import_row`: each data row, its cells, what the checks said and what became of it
  (the customer it made, or why not).
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class CustomerImport(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name="white_label_id", field="id", model=migrator.orm["white_label"], on_delete="CASCADE")
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"], null=True, on_delete="SET NULL")
        filename = pw.CharField(default="", max_length=255)
        option = pw.CharField(default="", max_length=20)
        status = pw.CharField(default="checked", max_length=12)
        file_error = pw.TextField(default="")
        total_rows = pw.IntegerField(default=0)
        bad_rows = pw.IntegerField(default=0)
        charges = pw.IntegerField(default=0)
        attempts = pw.IntegerField(default=0)
        lease_resends = pw.IntegerField(default=0)
        next_attempt_at = pw.DateTimeField()
        locked_until = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        confirmed_at = pw.DateTimeField(null=True)
        finished_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "customer_import"
            indexes = [(("white_label", "created_at"), False), (("status", "next_attempt_at"), False)]

    @migrator.create_model
    class CustomerImportRow(pw.Model):
        id = pw.AutoField()
        job = pw.ForeignKeyField(column_name="job_id", field="id", model=migrator.orm["customer_import"], on_delete="CASCADE")
        line = pw.IntegerField()
        cells = pw.TextField()
        errors = pw.TextField()
        status = pw.CharField(default="ready", max_length=10)
        customer = pw.ForeignKeyField(column_name="customer_id", field="id", model=migrator.orm["customer"], null=True, on_delete="SET NULL")
        reason = pw.TextField(default="")

        class Meta:
            table_name = "customer_import_row"
            indexes = [(("job", "line"), True), (("job", "status", "line"), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("customer_import_row")
    migrator.remove_model("customer_import")
