"""Prepared queries and inserts (webapp/prepared.py): compiled once, and the same as peewee's.

The API's hot path runs its look-ups as prepared queries and every new row is inserted through
`insert_row`. Each must send the SQL peewee would have sent and give back the same rows; a
default such as `created_at` must be worked out for each row, never frozen into the cached SQL.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from peewee import Model

from bench.harness import captured_statements
from testkit.quick_connections import quick_connections
from webapp.api.keys import create_key
from webapp.extensions import db
from webapp.models import (
    ActivationToken,
    ApiKey,
    AuditEvent,
    Customer,
    OutboxEmail,
    Plan,
    RateLimitCounter,
    User,
    WhiteLabel,
    WhiteLabelMembership,
    utcnow,
)
from webapp.prepared import _statement, prepared, server_prepares, statement_sql


def _demo() -> WhiteLabel:
    return WhiteLabel.get(WhiteLabel.slug == "demo-telecom")


def _keys_query(secret_hash, white_label):
    """A join of three tables with two values: the shape of the API key look-up."""
    return (
        ApiKey.select(ApiKey, WhiteLabel, User)
        .join(WhiteLabel, on=(ApiKey.white_label == WhiteLabel.id))
        .join_from(ApiKey, User, on=(ApiKey.created_by == User.id), attr="created_by")
        .where((ApiKey.secret_hash == secret_hash) & (ApiKey.white_label == white_label) & ApiKey.revoked_at.is_null())
        .order_by(ApiKey.id)
    )


def test_a_prepared_query_sends_peeweees_sql_and_gives_the_same_rows(app):
    keys = prepared(_keys_query)
    with app.app_context(), db.connection_context():
        demo = _demo()
        admin = User.get(User.email == "admin@demo.example.com")
        made = create_key(demo, admin, name="Shop", scope="read_write")
        other = WhiteLabel.select().where(WhiteLabel.id != demo.id).first()
        # No row first: the column mapping worked out on an empty result serves the later ones.
        cases = [("0" * 64, demo), (made.row.secret_hash, demo), (made.row.secret_hash, other.id)]
        for secret_hash, white_label in cases:
            assert (
                keys.sql(secret_hash=secret_hash, white_label=white_label)
                == _keys_query(secret_hash, white_label).sql()
            )
            expected = list(_keys_query(secret_hash, white_label))
            got = list(keys.rows(secret_hash=secret_hash, white_label=white_label))
            assert [row.__data__ for row in got] == [row.__data__ for row in expected]
            # The joined rows come attached, as peewee attaches them.
            assert [(row.white_label.name, row.created_by.email) for row in got] == [
                (row.white_label.name, row.created_by.email) for row in expected
            ]
        assert keys.first(secret_hash=made.row.secret_hash, white_label=demo).created_by.email == admin.email
        assert keys.first(secret_hash=made.row.secret_hash, white_label=other) is None


def test_a_prepared_query_is_built_once_per_database_and_takes_exactly_its_parameters(app):
    built = []

    def active_plans(white_label):
        built.append(white_label)
        return Plan.select().where((Plan.white_label == white_label) & Plan.active).order_by(Plan.id)

    plans = prepared(active_plans)
    with app.app_context(), db.connection_context():
        demo = _demo()
        for _ in range(5):
            assert [p.name for p in plans.rows(white_label=demo)] == [
                p.name for p in Plan.select().where((Plan.white_label == demo) & Plan.active).order_by(Plan.id)
            ]
        assert len(built) == 1
        with pytest.raises(TypeError, match="takes white_label"):
            list(plans.rows())
        with pytest.raises(TypeError, match="takes white_label"):
            list(plans.rows(white_label=demo, extra=1))
        # Peewee would have written IS NULL; a compiled "= ?" given NULL would silently match nothing.
        with pytest.raises(ValueError, match="white_label is None"):
            list(plans.rows(white_label=None))


def _stored(model: type[Model], row_id: int) -> dict:
    data = model.select().where(model.id == row_id).dicts().get()
    data.pop("id")
    return data


def _email_values(white_label: WhiteLabel, **values) -> dict:
    """An outbox email's columns (a test email, never sent)."""
    return {
        "white_label": white_label,
        "kind": "test",
        "recipient": "a@example.com",
        "sender": "b@example.com",
        "subject": "Hello",
        "text_body": "Hi",
        "html_body": "<p>Hi</p>",
        **values,
    }


def _peewee_insert(instance: Model) -> Model:
    """The row inserted by peewee's own Model.save (what BaseModel.save replaced)."""
    Model.save(instance, force_insert=True)
    return instance


def test_insert_row_stores_what_peewees_insert_stores(app):
    with app.app_context(), db.connection_context():
        demo = _demo()
        plan = Plan.select().where(Plan.white_label == demo).first()
        admin = User.get(User.email == "admin@demo.example.com")
        moment = dt.datetime(2031, 5, 6, 7, 8, 9)

        def rows():
            customer = dict(
                white_label=demo,
                business_name="Prepared Ltd",
                contact_email="prepared@example.com",
                contact_phone="+64211234567",
                plan=plan,
                administered_by="customer",
                status=Customer.CANCELLED,  # a live customer's email is unique: this one twice
                created_by=admin,
                created_at=moment,
            )
            return [
                (Customer, customer),
                (
                    AuditEvent,
                    dict(white_label=demo, actor=admin, action="prepared", detail='{"a": 1}', created_at=moment),
                ),
                (
                    OutboxEmail,
                    _email_values(
                        demo,
                        message_id="<prepared@example.com>",
                        secret_link="/activate/not-a-real-token",  # encrypted at rest by its field
                        created_at=moment,
                        next_attempt_at=moment,
                    ),
                ),
            ]

        for model, values in rows():
            ours = model.create(**values)
            unique = {"message_id": "<prepared-2@example.com>"} if model is OutboxEmail else {}
            theirs = _peewee_insert(model(**{**values, **unique}))
            assert isinstance(ours.id, int) and ours.id != theirs.id
            mine, peewees = _stored(model, ours.id), _stored(model, theirs.id)
            for name in unique:
                assert mine.pop(name) != peewees.pop(name)
            assert mine == peewees
            assert not ours.is_dirty()


def test_insert_row_works_out_each_rows_defaults_and_links_its_relations(app):
    with app.app_context(), db.connection_context():
        demo = _demo()
        AuditEvent.create(white_label=demo, action="first")  # compiles the INSERT
        time.sleep(0.01)
        between = utcnow()
        second = AuditEvent.create(white_label=demo, action="second")
        # created_at (default utcnow) is the second row's own time, not one cached with the SQL.
        assert AuditEvent.get_by_id(second.id).created_at >= between
        # A related row saved after it was set: its new id is what is stored.
        email = OutboxEmail(**_email_values(demo, message_id="<linked@example.com>"))
        customer = Customer.select().where(Customer.white_label == demo).first() or Customer.create(
            white_label=demo, business_name="Linked", contact_email="linked@example.com"
        )
        token = ActivationToken(
            customer=customer, purpose="activation", token_hash="f" * 64, email=email, expires_at=between
        )
        email.save()
        token.save()
        assert ActivationToken.get_by_id(token.id).email_id == email.id


def test_rows_without_an_auto_id_and_updates_are_saved_peewees_way(app):
    with app.app_context(), db.connection_context():
        RateLimitCounter.create(bucket="b" * 64, hits=1, expires_at=1.0)
        assert RateLimitCounter.get_by_id("b" * 64).hits == 1
        membership = WhiteLabelMembership.select().first()
        membership.role = WhiteLabelMembership.STAFF
        assert membership.save() == 1
        assert WhiteLabelMembership.get_by_id(membership.id).role == WhiteLabelMembership.STAFF


def test_a_statement_is_numbered_for_the_server_and_keeps_its_literal_percent_signs():
    statement = _statement("Plans offered!", 'SELECT %s, \'100%%\', "t1"."x" = %s')
    assert statement.name.startswith("plans_offered__")
    assert statement.prepare == f'PREPARE {statement.name} AS SELECT $1, \'100%%\', "t1"."x" = $2'
    assert statement.execute == f"EXECUTE {statement.name}(%s, %s)"
    assert statement_sql(statement.execute) == statement.sql
    bare = _statement("none", "SELECT 1")
    assert bare.execute == f"EXECUTE {bare.name}" and bare.prepare == f"PREPARE {bare.name} AS SELECT 1"
    assert statement_sql("SELECT 1") == "SELECT 1"


@pytest.mark.parametrize("server_prepare", [True, False])
def test_on_postgresql_a_statement_is_prepared_once_per_connection_and_outlives_a_rollback(
    app, database_url, server_prepare
):
    """Pooled PostgreSQL (production's postgresql+pool://) prepares each compiled statement once
    per connection and then only EXECUTEs it; a rolled-back transaction keeps it (PREPARE is not
    transactional), a new connection prepares again. With DATABASE_SERVER_PREPARE off, and on
    SQLite, each statement is sent whole."""

    def active_plans(white_label):
        return Plan.select().where((Plan.white_label == white_label) & Plan.active).order_by(Plan.id)

    plans = prepared(active_plans)
    with app.app_context(), quick_connections(database_url):
        on_server = server_prepares(db.obj) and server_prepare
        assert on_server == (server_prepare and not database_url.startswith("sqlite"))
        db.obj.server_prepare = server_prepare
        try:
            with db.connection_context():
                demo = _demo()
                expected = [p.name for p in active_plans(demo)]
                assert expected
                with captured_statements() as captured:
                    assert [p.name for p in plans.rows(white_label=demo)] == expected
                    assert [p.name for p in plans.rows(white_label=demo)] == expected
                sent = [sql for sql, _params in captured]
                if on_server:
                    name, values = sent[0].split()[1], len(plans.sql(white_label=demo)[1])
                    assert sent[0].startswith(f"PREPARE {name} AS SELECT ") and "%s" not in sent[0]
                    assert "$1" in sent[0] and f"${values + 1}" not in sent[0]
                    assert sent[1:] == [f"EXECUTE {name}({', '.join(['%s'] * values)})"] * 2
                else:
                    assert sent == [plans.sql(white_label=demo)[0]] * 2
                with db.atomic() as transaction:
                    AuditEvent.create(white_label=demo, action="rolled-back")
                    assert [p.name for p in plans.rows(white_label=demo)] == expected
                    transaction.rollback()
                with captured_statements() as sent:
                    kept = AuditEvent.create(white_label=demo, action="kept")
                    assert [p.name for p in plans.rows(white_label=demo)] == expected
                assert [sql.split()[0] for sql, _ in sent] == (["EXECUTE"] * 2 if on_server else ["INSERT", "SELECT"])
                assert AuditEvent.select().where(AuditEvent.action == "rolled-back").count() == 0
                assert AuditEvent.get_by_id(kept.id).action == "kept"
            if hasattr(db.obj, "close_all"):  # a pool: close its idle connections too
                db.obj.close_all()
            with db.connection_context(), captured_statements() as sent:  # a new connection: prepared afresh
                assert [p.name for p in plans.rows(white_label=demo)] == expected
            assert [sql.split()[0] for sql, _ in sent] == (["PREPARE", "EXECUTE"] if on_server else ["SELECT"])
        finally:
            db.obj.server_prepare = True
