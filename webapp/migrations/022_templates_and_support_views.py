"""Peewee migrations -- 022_templates_and_support_views.py: customer templates and support views (issue 17).

- `customer_template`: a white-label's named presets for the create-customer wizard (who
  administers, plan, number policy, PBX settings). Nothing refers to a template: a draft copies
  its answers when it starts, so editing or deleting one changes no draft and no customer.
- `support_view`: a white-label administrator's read-only view of a customer's /account (who,
  which account, why, until when, and how it ended).
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class CustomerTemplate(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name="white_label_id", field="id", model=migrator.orm["white_label"],
                                         on_delete="CASCADE")
        name = pw.CharField(max_length=100)
        administered_by = pw.CharField(max_length=20)
        plan = pw.ForeignKeyField(column_name="plan_id", field="id", model=migrator.orm["plan"], null=True,
                                  on_delete="SET NULL")
        number_count = pw.IntegerField(default=0)
        time_zone = pw.CharField(max_length=64, default="")
        extension_length = pw.IntegerField(default=3)
        voicemail_to_email = pw.BooleanField(default=True)
        call_recording = pw.BooleanField(default=False)
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "customer_template"
            indexes = [(("white_label", "name"), True)]


    @migrator.create_model
    class SupportView(pw.Model):
        id = pw.AutoField()
        white_label = pw.ForeignKeyField(column_name="white_label_id", field="id", model=migrator.orm["white_label"],
                                         on_delete="CASCADE")
        customer = pw.ForeignKeyField(column_name="customer_id", field="id", model=migrator.orm["customer"],
                                      on_delete="CASCADE")
        viewer = pw.ForeignKeyField(column_name="viewer_id", field="id", model=migrator.orm["user"],
                                    on_delete="CASCADE")
        membership = pw.ForeignKeyField(column_name="membership_id", field="id",
                                        model=migrator.orm["customer_membership"], null=True, on_delete="SET NULL")
        reason = pw.CharField(max_length=500)
        started_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        ended_at = pw.DateTimeField(null=True)
        ended_how = pw.CharField(max_length=20, default="")

        class Meta:
            table_name = "support_view"
            indexes = [(("customer", "started_at"), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("support_view")
    migrator.remove_model("customer_template")
