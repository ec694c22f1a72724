"""Peewee migrations -- 011_white_label_locale.py: each white-label reads amounts by a locale.

Typed amounts are read with the number rules of the white-label's locale (webapp/money.py):
in en_NZ a comma groups thousands, in de_DE it starts the cents. Existing white-labels get the
locale Babel's likely subtags give their country (NZ -> en_NZ, DE -> de_DE). The column is
added with a DEFAULT in its DDL so SQLite can add it NOT NULL without rebuilding the table.
"""

import peewee as pw
from peewee_migrate import Migrator


def _locale_for_country(country: str) -> str:
    from babel import Locale, UnknownLocaleError

    try:
        return str(Locale.parse("und_" + (country or "").strip().upper()))
    except (ValueError, UnknownLocaleError):
        return "en"


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "white_label",
        allow_not_null=True,
        locale=pw.CharField(max_length=35, default="", constraints=[pw.SQL("DEFAULT ''")]),
    )

    def fill(white_label=migrator.orm["white_label"]):
        for row_id, country in white_label.select(white_label.id, white_label.country).tuples():
            white_label.update(locale=_locale_for_country(country)).where(white_label.id == row_id).execute()

    migrator.run(fill)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("white_label", "locale")
