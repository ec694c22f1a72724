import re

import pytest

from conftest import csrf_token
from webapp.models import AuditEvent, WhiteLabel

URL = "/settings/payment-gateway"
TEST_PK = "pk_test_51AbCdEfGhIjKlMnOp"
TEST_SK = "sk_test_51ZyXwVuTsRqPoNm9876"
LIVE_PK = "pk_live_51AbCdEfGhIjKlMnOp"
LIVE_SK = "sk_live_51ZyXwVuTsRqPoNm4321"


def white_label(app, slug="demo-telecom") -> WhiteLabel:
    with app.app_context():
        return WhiteLabel.get(WhiteLabel.slug == slug)


def store_stripe_keys(app, publishable=TEST_PK, secret=TEST_SK, slug="demo-telecom"):
    with app.app_context():
        WhiteLabel.update(payment_gateway="stripe", stripe_publishable_key=publishable, stripe_secret_key=secret).where(
            WhiteLabel.slug == slug
        ).execute()


def post(client, **data):
    data.setdefault("stripe_publishable_key", "")
    data.setdefault("stripe_secret_key", "")
    return client.post(URL, data={"csrf_token": csrf_token(client), **data})


def test_staff_cannot_open_settings(staff_client):
    assert staff_client.get("/settings/").status_code == 403
    assert staff_client.get(URL).status_code == 403
    assert (
        staff_client.post(URL, data={"csrf_token": csrf_token(staff_client), "payment_gateway": "none"}).status_code
        == 403
    )


def test_staff_see_no_settings_link(staff_client):
    html = staff_client.get("/customers/").get_data(as_text=True)
    assert 'href="/settings/"' not in html and "/settings/payment-gateway" not in html
    assert ">Settings<" not in html
    # The one settings page staff may open (read-only) is linked on its own.
    assert 'href="/settings/webhooks/">Webhooks</a>' in html


def test_administrator_sees_settings_in_the_nav_marked_current_on_settings_pages(admin_client):
    assert 'href="/settings/">Settings</a>' in admin_client.get("/customers/").get_data(as_text=True)
    html = admin_client.get("/settings/").get_data(as_text=True)
    assert 'href="/settings/" aria-current="page">Settings</a>' in html
    assert '<h1 data-focus-heading tabindex="-1">Settings</h1>' in html
    assert f'href="{URL}">Payment gateway</a>' in html


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_page_shows_the_current_gateway_with_labels(admin_client):
    html = admin_client.get(URL).get_data(as_text=True)
    assert '<h1 data-focus-heading tabindex="-1">Payment gateway</h1>' in html
    assert "<legend>Payment gateway</legend>" in html
    assert re.search(r'<input checked id="payment_gateway-1"[^>]*value="sandbox">', html)
    assert '<label for="payment_gateway-0">None: customers cannot pay by card' in html
    assert '<label for="stripe_publishable_key">Stripe publishable key</label>' in html
    assert '<label for="stripe_secret_key">Stripe secret key</label>' in html
    assert 'name="csrf_token" type="hidden"' in html
    assert "No secret key stored" in html


def test_administrator_switches_sandbox_to_none(app, admin_client):
    response = post(admin_client, payment_gateway="none")
    assert response.status_code == 303
    assert response.headers["Location"] == URL
    assert white_label(app).payment_gateway == "none"
    html = admin_client.get(URL).get_data(as_text=True)
    assert "Payment gateway saved." in html
    assert 'checked id="payment_gateway-0"' in html


def test_stripe_with_valid_keys_is_saved(app, admin_client):
    response = post(
        admin_client, payment_gateway="stripe", stripe_publishable_key=f"  {TEST_PK} ", stripe_secret_key=TEST_SK
    )
    assert response.status_code == 303
    saved = white_label(app)
    assert (saved.payment_gateway, saved.stripe_publishable_key, saved.stripe_secret_key) == (
        "stripe",
        TEST_PK,
        TEST_SK,
    )


def test_live_keys_and_restricted_keys_are_accepted(app, admin_client):
    assert (
        post(
            admin_client, payment_gateway="stripe", stripe_publishable_key=LIVE_PK, stripe_secret_key=LIVE_SK
        ).status_code
        == 303
    )
    restricted = "rk_live_51RestrictedKey1234"
    assert (
        post(
            admin_client, payment_gateway="stripe", stripe_publishable_key=LIVE_PK, stripe_secret_key=restricted
        ).status_code
        == 303
    )
    assert white_label(app).stripe_secret_key == restricted


@pytest.mark.parametrize(
    "publishable, secret, field, message",
    [
        ("", TEST_SK, "stripe_publishable_key", "Enter the Stripe publishable key."),
        (
            "sk_test_oops",
            TEST_SK,
            "stripe_publishable_key",
            "Enter a publishable key that starts with pk_test_ or pk_live_.",
        ),
        (
            TEST_PK,
            "pk_test_wrongfield",
            "stripe_secret_key",
            "Enter a secret key that starts with sk_test_, sk_live_, rk_test_ or rk_live_.",
        ),
        (TEST_PK, "", "stripe_secret_key", "Enter the Stripe secret key."),
    ],
)
def test_bad_stripe_keys_are_refused_and_the_publishable_key_is_kept(
    app, admin_client, publishable, secret, field, message
):
    response = post(
        admin_client, payment_gateway="stripe", stripe_publishable_key=publishable, stripe_secret_key=secret
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in html
    assert f'<a href="#{field}">{message}</a>' in html
    assert f'id="{field}-error"' in html and 'aria-invalid="true"' in html
    assert f'value="{publishable}"' in html
    assert 'checked id="payment_gateway-2"' in html
    if secret:
        assert secret not in html
        assert "The secret key you entered was not saved: enter it again." in html
    saved = white_label(app)
    assert (saved.payment_gateway, saved.stripe_publishable_key, saved.stripe_secret_key) == ("sandbox", "", "")


def test_test_and_live_keys_cannot_be_mixed(app, admin_client):
    response = post(admin_client, payment_gateway="stripe", stripe_publishable_key=LIVE_PK, stripe_secret_key=TEST_SK)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The publishable key is a live key but the secret key is a test key." in html
    assert "Use both keys from the same mode (test or live)." in html
    assert white_label(app).payment_gateway == "sandbox"


def test_a_new_publishable_key_must_match_the_stored_secret_keys_mode(app, admin_client):
    store_stripe_keys(app)
    response = post(admin_client, payment_gateway="stripe", stripe_publishable_key=LIVE_PK)
    assert response.status_code == 422
    assert "the stored secret key is a test key" in response.get_data(as_text=True)
    assert white_label(app).stripe_publishable_key == TEST_PK


def test_stored_secret_key_is_never_shown_only_masked(app, admin_client):
    store_stripe_keys(app)
    html = admin_client.get(URL).get_data(as_text=True)
    assert TEST_SK not in html
    assert TEST_SK[8:] not in html
    assert "sk_test_…9876" in html
    assert f'value="{TEST_PK}"' in html
    invalid = post(admin_client, payment_gateway="stripe", stripe_publishable_key="nope").get_data(as_text=True)
    assert TEST_SK not in invalid
    assert "sk_test_…9876" in invalid
    assert "The secret key you entered was not saved" not in invalid


def test_blank_secret_key_keeps_the_stored_one(app, admin_client):
    store_stripe_keys(app)
    new_pk = "pk_test_51NewPublishableKey"
    assert (
        post(admin_client, payment_gateway="stripe", stripe_publishable_key=new_pk, stripe_secret_key="").status_code
        == 303
    )
    saved = white_label(app)
    assert (saved.stripe_publishable_key, saved.stripe_secret_key) == (new_pk, TEST_SK)


def test_none_and_sandbox_keep_the_stored_stripe_keys(app, admin_client):
    store_stripe_keys(app)
    assert post(admin_client, payment_gateway="none", stripe_publishable_key="garbage").status_code == 303
    saved = white_label(app)
    assert (saved.payment_gateway, saved.stripe_publishable_key, saved.stripe_secret_key) == ("none", TEST_PK, TEST_SK)
    assert post(admin_client, payment_gateway="stripe", stripe_publishable_key=TEST_PK).status_code == 303
    assert white_label(app).payment_gateway == "stripe"


def test_unknown_or_missing_gateway_is_refused(app, admin_client):
    assert post(admin_client, payment_gateway="paypal").status_code == 422
    response = post(admin_client)
    assert response.status_code == 422
    assert '<a href="#payment_gateway">Choose a payment gateway.</a>' in response.get_data(as_text=True)
    assert white_label(app).payment_gateway == "sandbox"


def test_other_white_label_admin_changes_only_their_own(app, other_admin_client):
    response = post(
        other_admin_client, payment_gateway="stripe", stripe_publishable_key=TEST_PK, stripe_secret_key=TEST_SK
    )
    assert response.status_code == 303
    other, demo = white_label(app, "other-voice"), white_label(app)
    assert (other.payment_gateway, other.stripe_secret_key) == ("stripe", TEST_SK)
    assert (demo.payment_gateway, demo.stripe_publishable_key, demo.stripe_secret_key) == ("sandbox", "", "")


def test_post_without_csrf_token_is_refused(app, admin_client):
    response = admin_client.post(URL, data={"payment_gateway": "none"})
    assert response.status_code == 400
    assert white_label(app).payment_gateway == "sandbox"
    with app.app_context():
        assert AuditEvent.select().where(AuditEvent.action == "payment_gateway_changed").count() == 0


def test_saving_writes_an_audit_event_without_the_secret(app, admin_client):
    post(admin_client, payment_gateway="stripe", stripe_publishable_key=TEST_PK, stripe_secret_key=TEST_SK)
    with app.app_context():
        demo = WhiteLabel.get(WhiteLabel.slug == "demo-telecom")
        events = list(AuditEvent.select().where(AuditEvent.action == "payment_gateway_changed"))
        assert len(events) == 1
        event = events[0]
        assert event.white_label_id == demo.id
        assert event.actor.email == "admin@demo.example.com"
        assert event.detail == "stripe (test mode)"
        assert TEST_SK not in event.detail and TEST_SK[8:] not in event.detail


def test_htmx_save_redirects_with_hx_redirect(app, admin_client):
    response = admin_client.post(
        URL,
        data={"csrf_token": csrf_token(admin_client), "payment_gateway": "none"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == URL
    assert white_label(app).payment_gateway == "none"


# --- The Stripe secret key at rest -----------------------------------------------------------


def stored_column(app, slug="demo-telecom") -> str:
    """The secret key column as the database holds it (not through the model)."""
    from webapp.extensions import db

    with app.app_context(), db.connection_context():
        return db.execute_sql(f"SELECT stripe_secret_key FROM white_label WHERE slug = {db.param}", (slug,)).fetchone()[
            0
        ]


def app_with_keys(config, keys: str):
    from webapp import create_app

    return create_app({**config, "SECRETS_ENCRYPTION_KEYS": keys})


def test_the_secret_key_is_stored_encrypted(app, admin_client):
    assert (
        post(
            admin_client, payment_gateway="stripe", stripe_publishable_key=TEST_PK, stripe_secret_key=TEST_SK
        ).status_code
        == 303
    )
    raw = stored_column(app)
    assert raw.startswith("fernet:") and TEST_SK not in raw and TEST_SK[8:] not in raw
    assert white_label(app).stripe_secret_key == TEST_SK  # the app reads it back
    again = stored_column(app)
    store_stripe_keys(app)
    assert stored_column(app) != again  # a fresh ciphertext on every save


def test_encryption_keys_rotate_with_reencrypt_secrets(app, config, admin_client, caplog):
    from cryptography.fernet import Fernet

    from webapp import crypto

    old, new, stranger = (Fernet.generate_key().decode() for _ in range(3))
    store_stripe_keys(app_with_keys(config, old))
    under_old = stored_column(app)
    # The new key first, the old one still listed: it still reads, and the command re-encrypts.
    both = app_with_keys(config, f"{new},{old}")
    assert white_label(both).stripe_secret_key == TEST_SK
    result = both.test_cli_runner().invoke(args=["reencrypt-secrets"])
    assert result.exit_code == 0 and "Re-encrypted 1 stored secret(s)" in result.output
    assert stored_column(app) != under_old
    # The old key gone: still readable.
    assert white_label(app_with_keys(config, new)).stripe_secret_key == TEST_SK
    # No configured key opens it: it reads as not set, the gateway counts as missing, the settings
    # page asks for the key again, and the command names the white-label to fix.
    lost = app_with_keys(config, stranger)
    assert white_label(lost).stripe_secret_key == "" and not white_label(lost).has_payment_gateway
    html = admin_client.get(URL).get_data(as_text=True)
    assert "No secret key stored." in html and "Stored key" not in html
    result = lost.test_cli_runner().invoke(args=["reencrypt-secrets"])
    assert result.exit_code == 1 and "demo-telecom" in result.output
    # The log says so once, not on every page that loads the white-label.
    assert caplog.text.count("white_label.stripe_secret_key: a stored value cannot be decrypted") == 1
    crypto.init_app(app)  # this test's own app again


def test_a_key_stored_before_encryption_reads_and_then_gets_encrypted(app, runner, quiet_sql_log):
    from webapp.extensions import db

    with app.app_context(), db.connection_context():
        db.execute_sql(
            f"UPDATE white_label SET payment_gateway = 'stripe', stripe_secret_key = {db.param} "
            f"WHERE slug = 'demo-telecom'",
            (TEST_SK,),
        )
    assert white_label(app).stripe_secret_key == TEST_SK
    result = runner.invoke(args=["reencrypt-secrets"])
    assert result.exit_code == 0, result.output
    assert stored_column(app).startswith("fernet:") and white_label(app).stripe_secret_key == TEST_SK


def test_a_malformed_encryption_key_stops_the_app(config):
    from webapp.config import ConfigError

    good = "u" * 43 + "="
    with pytest.raises(ConfigError, match="key 2 is not a Fernet key"):
        app_with_keys(config, f"{good}, not-a-key")


# --- The Stripe webhook's signing secret -------------------------------------------------------

TEST_WHSEC = "whsec_Q2hlY2tpbmdUaGVTaWduaW5nU2VjcmV0MTIzNDU2"


def stored_webhook_secret(app, slug="demo-telecom") -> str:
    from webapp.extensions import db

    with app.app_context(), db.connection_context():
        return db.execute_sql(
            f"SELECT stripe_webhook_secret FROM white_label WHERE slug = {db.param}", (slug,)
        ).fetchone()[0]


def test_settings_show_the_webhook_endpoint_to_paste_into_stripe(app, admin_client):
    html = admin_client.get(URL).get_data(as_text=True)
    demo = white_label(app)
    # Built from APP_BASE_URL, never from the request's Host header.
    assert f"https://onboarding.example.com/stripe/webhook/{demo.id}" in html
    assert (
        "payment_intent.succeeded" in html
        and "payment_intent.payment_failed" in html
        and "payment_intent.canceled" in html
    )
    assert '<label for="stripe_webhook_secret">Stripe webhook signing secret</label>' in html
    assert "No signing secret stored" in html


def test_the_webhook_signing_secret_is_stored_encrypted_and_shown_masked(app, admin_client):
    response = post(
        admin_client,
        payment_gateway="stripe",
        stripe_publishable_key=TEST_PK,
        stripe_secret_key=TEST_SK,
        stripe_webhook_secret=TEST_WHSEC,
    )
    assert response.status_code == 303
    raw = stored_webhook_secret(app)
    assert raw.startswith("fernet:") and TEST_WHSEC not in raw and TEST_WHSEC[6:] not in raw
    assert white_label(app).stripe_webhook_secret == TEST_WHSEC
    html = admin_client.get(URL).get_data(as_text=True)
    assert TEST_WHSEC not in html and TEST_WHSEC[6:20] not in html
    assert f"Stored signing secret: whsec_…{TEST_WHSEC[-4:]}. Leave blank to keep it." in html
    # Left blank, the stored one stays; the audit trail never holds it.
    assert post(admin_client, payment_gateway="stripe", stripe_publishable_key=TEST_PK).status_code == 303
    assert white_label(app).stripe_webhook_secret == TEST_WHSEC
    with app.app_context():
        assert not AuditEvent.select().where(AuditEvent.detail.contains("whsec")).exists()


def test_a_malformed_webhook_secret_is_refused_and_never_echoed(app, admin_client):
    response = post(
        admin_client,
        payment_gateway="stripe",
        stripe_publishable_key=TEST_PK,
        stripe_secret_key=TEST_SK,
        stripe_webhook_secret="sk_test_notasigningsecret1234",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a signing secret that starts with whsec_" in html
    assert "sk_test_notasigningsecret1234" not in html and TEST_SK not in html
    assert white_label(app).stripe_webhook_secret == ""


def test_reencrypt_secrets_covers_the_webhook_secret(app, config):
    from cryptography.fernet import Fernet

    from webapp import crypto

    old, new = (Fernet.generate_key().decode() for _ in range(2))
    with app_with_keys(config, old).app_context():
        WhiteLabel.update(payment_gateway="stripe", stripe_secret_key=TEST_SK, stripe_webhook_secret=TEST_WHSEC).where(
            WhiteLabel.slug == "demo-telecom"
        ).execute()
    under_old = stored_webhook_secret(app)
    both = app_with_keys(config, f"{new},{old}")
    result = both.test_cli_runner().invoke(args=["reencrypt-secrets"])
    assert result.exit_code == 0 and "Re-encrypted 2 stored secret(s)" in result.output
    assert stored_webhook_secret(app) != under_old
    assert white_label(app_with_keys(config, new)).stripe_webhook_secret == TEST_WHSEC
    crypto.init_app(app)
