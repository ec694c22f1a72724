"""Peewee migrations -- 010_rate_limit_counters.py: rate-limit counters in the database.

Every gunicorn worker and app server counts sign-in failures, link look-ups and resends in one
table, so a limit holds however many processes serve (RATELIMIT_STORAGE_URI=database://, the
default; webapp/ratelimit_storage.py). Expired rows are deleted as the app goes.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class RateLimitCounter(pw.Model):
        bucket = pw.CharField(max_length=64, primary_key=True)
        hits = pw.IntegerField()
        expires_at = pw.DoubleField(index=True)

        class Meta:
            table_name = "rate_limit_counter"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("rate_limit_counter")
