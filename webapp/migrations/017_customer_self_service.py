"""Peewee migrations -- 017_customer_self_service.py: customers who administer their own
account run it (issue 15, section 1).

- `extra_number_price` on plan: what each number beyond the plan's included ones costs a month,
  in minor units, charged to the customer's own balance for the days left of the billing month
  when an Account Administrator chooses it. 0 means the plan offers no numbers beyond those it
  includes (the rule the wizard and the white-label's console keep).
- `sign_in_host` on white_label: an optional host name of the white-label's own (say
  voice.acme.example) on which the sign-in page and every customer page wear its brand. Its
  sign-in address by path (/s/<slug>/sign-in) needs no column.

Columns are added with a DEFAULT in their DDL, so SQLite adds them NOT NULL without a rebuild.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "plan",
        allow_not_null=True,
        extra_number_price=pw.IntegerField(default=0, constraints=[pw.SQL("DEFAULT 0")]),
    )
    migrator.add_fields(
        "white_label",
        allow_not_null=True,
        sign_in_host=pw.CharField(max_length=253, default="", constraints=[pw.SQL("DEFAULT ''")]),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("plan", "extra_number_price")
    migrator.remove_fields("white_label", "sign_in_host")
