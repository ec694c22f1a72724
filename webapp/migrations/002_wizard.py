"""Peewee migrations -- 002_wizard.py.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class ActivationToken(pw.Model):
        id = pw.AutoField()
        customer = pw.ForeignKeyField(column_name='customer_id', field='id', model=migrator.orm['customer'], on_delete='CASCADE')
        purpose = pw.CharField(default='activation', max_length=20)
        token_hash = pw.CharField(max_length=64, unique=True)
        email = pw.ForeignKeyField(column_name='email_id', field='id', model=migrator.orm['outbox_email'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        opened_at = pw.DateTimeField(null=True)
        used_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)
        reminder_sent_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "activation_token"

    @migrator.create_model
    class CustomerDraft(pw.Model):
        id = pw.AutoField()
        key = pw.CharField(max_length=32, unique=True)
        white_label = pw.ForeignKeyField(column_name='white_label_id', field='id', model=migrator.orm['white_label'], on_delete='CASCADE')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        administered_by = pw.CharField(max_length=20)
        data = pw.TextField(default='{}')
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        submitted_at = pw.DateTimeField(null=True)
        customer = pw.ForeignKeyField(column_name='customer_id', field='id', model=migrator.orm['customer'], null=True, on_delete='SET NULL', unique=True)

        class Meta:
            table_name = "customer_draft"
            indexes = [(('white_label', 'created_by', 'submitted_at'), False)]

    @migrator.create_model
    class CustomerMembership(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        customer = pw.ForeignKeyField(column_name='customer_id', field='id', model=migrator.orm['customer'], on_delete='CASCADE')
        role = pw.CharField(max_length=30)
        extension = pw.CharField(default='', max_length=5)
        active = pw.BooleanField(default=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "customer_membership"
            indexes = [(('user', 'customer'), True)]

    @migrator.create_model
    class LedgerEntry(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name='white_label_id', field='id', model=migrator.orm['white_label'], on_delete='CASCADE')
        account = pw.CharField(max_length=12)
        customer = pw.ForeignKeyField(column_name='customer_id', field='id', model=migrator.orm['customer'], null=True, on_delete='CASCADE')
        kind = pw.CharField(max_length=6)
        amount = pw.IntegerField()
        currency = pw.CharField(max_length=3)
        reason = pw.CharField(max_length=200)
        reference = pw.CharField(max_length=100, null=True, unique=True)
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "ledger_entry"
            indexes = [(('white_label', 'account', 'created_at'), False), (('customer', 'created_at'), False)]

    @migrator.create_model
    class PbxSettings(pw.Model):
        id = pw.AutoField()
        customer = pw.ForeignKeyField(column_name='customer_id', field='id', model=migrator.orm['customer'], on_delete='CASCADE', unique=True)
        time_zone = pw.CharField(max_length=64)
        extension_length = pw.IntegerField(default=3)
        default_caller_id = pw.CharField(default='', max_length=20)
        voicemail_to_email = pw.BooleanField(default=True)
        call_recording = pw.BooleanField(default=False)

        class Meta:
            table_name = "pbx_settings"

def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model('pbx_settings')

    migrator.remove_model('ledger_entry')

    migrator.remove_model('customer_membership')

    migrator.remove_model('customer_draft')

    migrator.remove_model('activation_token')
