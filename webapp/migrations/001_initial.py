"""Peewee migrations -- 001_initial.py.

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
    class WhiteLabel(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=120)
        slug = pw.CharField(max_length=60, unique=True)
        display_name = pw.CharField(max_length=120)
        accent_colour = pw.CharField(default='#1d4ed8', max_length=7)
        support_email = pw.CharField(max_length=254)
        support_phone = pw.CharField(default='', max_length=32)
        payment_gateway = pw.CharField(default='none', max_length=10)
        stripe_publishable_key = pw.CharField(default='', max_length=255)
        stripe_secret_key = pw.CharField(default='', max_length=255)
        country = pw.CharField(max_length=2)
        currency = pw.CharField(max_length=3)
        time_zone = pw.CharField(default='UTC', max_length=64)
        credit_limit = pw.IntegerField(default=0)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "white_label"

    @migrator.create_model
    class Plan(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name='white_label_id', field='id', model=migrator.orm['white_label'], on_delete='CASCADE')
        name = pw.CharField(max_length=80)
        monthly_price = pw.IntegerField()
        min_opening_balance = pw.IntegerField()
        included_numbers = pw.IntegerField(default=1)
        sort_order = pw.IntegerField(default=0)
        active = pw.BooleanField(default=True)

        class Meta:
            table_name = "plan"
            indexes = [(('white_label', 'name'), True)]

    @migrator.create_model
    class User(pw.Model):
        id = pw.AutoField()
        email = pw.CharField(max_length=254, unique=True)
        password_hash = pw.CharField(default='', max_length=255)
        first_name = pw.CharField(default='', max_length=100)
        last_name = pw.CharField(default='', max_length=100)
        active = pw.BooleanField(default=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "user"

    @migrator.create_model
    class Customer(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name='white_label_id', field='id', model=migrator.orm['white_label'], on_delete='CASCADE')
        business_name = pw.CharField(max_length=200)
        trading_name = pw.CharField(default='', max_length=200)
        business_number = pw.CharField(default='', max_length=40)
        contact_first_name = pw.CharField(default='', max_length=100)
        contact_last_name = pw.CharField(default='', max_length=100)
        contact_email = pw.CharField(max_length=254)
        contact_phone = pw.CharField(default='', max_length=32)
        address_line1 = pw.CharField(default='', max_length=200)
        address_line2 = pw.CharField(default='', max_length=200)
        city = pw.CharField(default='', max_length=100)
        region = pw.CharField(default='', max_length=100)
        postcode = pw.CharField(default='', max_length=20)
        country = pw.CharField(default='', max_length=2)
        service_same_as_address = pw.BooleanField(default=True)
        service_line1 = pw.CharField(default='', max_length=200)
        service_line2 = pw.CharField(default='', max_length=200)
        service_city = pw.CharField(default='', max_length=100)
        service_region = pw.CharField(default='', max_length=100)
        service_postcode = pw.CharField(default='', max_length=20)
        service_country = pw.CharField(default='', max_length=2)
        plan = pw.ForeignKeyField(column_name='plan_id', field='id', model=migrator.orm['plan'], null=True, on_delete='SET NULL')
        administered_by = pw.CharField(max_length=20)
        status = pw.CharField(max_length=24)
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        created_at = pw.DateTimeField()
        activated_at = pw.DateTimeField(null=True)
        search_text = pw.CharField(default='', max_length=800)

        class Meta:
            table_name = "customer"
            indexes = [(('white_label', 'created_at', 'id'), False), (('white_label', 'contact_email'), False)]

    @migrator.create_model
    class AuditEvent(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name='white_label_id', field='id', model=migrator.orm['white_label'], on_delete='CASCADE')
        customer = pw.ForeignKeyField(column_name='customer_id', field='id', model=migrator.orm['customer'], null=True, on_delete='CASCADE')
        actor = pw.ForeignKeyField(column_name='actor_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        action = pw.CharField(max_length=60)
        detail = pw.TextField(default='')
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "audit_event"

    @migrator.create_model
    class OutboxEmail(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name='white_label_id', field='id', model=migrator.orm['white_label'], null=True, on_delete='CASCADE')
        customer = pw.ForeignKeyField(column_name='customer_id', field='id', model=migrator.orm['customer'], null=True, on_delete='CASCADE')
        kind = pw.CharField(max_length=40)
        recipient = pw.CharField(max_length=254)
        sender = pw.CharField(default='', max_length=320)
        subject = pw.CharField(max_length=255)
        text_body = pw.TextField()
        html_body = pw.TextField(default='')
        message_id = pw.CharField(max_length=255, unique=True)
        status = pw.CharField(default='queued', max_length=10)
        attempts = pw.IntegerField(default=0)
        next_attempt_at = pw.DateTimeField()
        locked_until = pw.DateTimeField(null=True)
        last_error = pw.TextField(default='')
        created_at = pw.DateTimeField()
        sent_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "outbox_email"
            indexes = [(('status', 'next_attempt_at'), False)]

    @migrator.create_model
    class PhoneNumber(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name='white_label_id', field='id', model=migrator.orm['white_label'], on_delete='CASCADE')
        number = pw.CharField(max_length=20, unique=True)
        customer = pw.ForeignKeyField(column_name='customer_id', field='id', model=migrator.orm['customer'], null=True, on_delete='SET NULL')
        assigned_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "phone_number"
            indexes = [(('white_label', 'customer'), False)]

    @migrator.create_model
    class WhiteLabelMembership(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE', unique=True)
        white_label = pw.ForeignKeyField(column_name='white_label_id', field='id', model=migrator.orm['white_label'], on_delete='CASCADE')
        role = pw.CharField(max_length=20)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "white_label_membership"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""
    
    migrator.remove_model('white_label_membership')

    migrator.remove_model('phone_number')

    migrator.remove_model('outbox_email')

    migrator.remove_model('audit_event')

    migrator.remove_model('customer')

    migrator.remove_model('user')

    migrator.remove_model('plan')

    migrator.remove_model('white_label')
