from conftest import ADMIN, STAFF, csrf_token, sign_in
from webapp.models import User


def test_sign_in_with_demo_administrator_lands_on_customers(client):
    response = sign_in(client, *ADMIN)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/customers/")
    page = client.get("/customers/").get_data(as_text=True)
    assert "Harbour Plumbing Ltd" in page


def test_wrong_password_gets_generic_message_and_keeps_email(client):
    response = sign_in(client, ADMIN[0], "not-the-password")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The email or password is incorrect." in html
    assert f'value="{ADMIN[0]}"' in html
    assert client.get("/customers/").status_code == 302


def test_unknown_email_gets_the_same_message_as_wrong_password(client):
    response = sign_in(client, "nobody@demo.example.com", "whatever-password")
    assert response.status_code == 422
    assert "The email or password is incorrect." in response.get_data(as_text=True)


def test_email_is_matched_case_insensitively(client):
    assert sign_in(client, ADMIN[0].upper(), ADMIN[1]).status_code == 303


def test_sign_out_ends_the_session(admin_client):
    token = csrf_token(admin_client)
    response = admin_client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert admin_client.get("/customers/").status_code == 302


def test_sign_out_refuses_a_post_without_csrf_token(admin_client):
    assert admin_client.post("/logout").status_code == 400
    assert admin_client.get("/customers/").status_code == 200


def test_signed_out_visitor_is_sent_to_sign_in_with_next(client):
    response = client.get("/customers/?q=kauri")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_next_leads_back_to_the_requested_page(client):
    page = client.get("/login?next=/customers/%3Fq%3Dkauri").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login?next=/customers/%3Fq%3Dkauri",
        data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token},
    )
    assert response.headers["Location"] == "/customers/?q=kauri"


def test_next_cannot_point_off_site(client):
    for target in ["https://evil.example.com/", "//evil.example.com/", "/\\evil.example.com", "javascript:alert(1)"]:
        client.get("/login")
        page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
        response = client.post(
            "/login", query_string={"next": target}, data={"email": ADMIN[0], "password": ADMIN[1], "csrf_token": token}
        )
        assert response.status_code == 303
        assert response.headers["Location"] == "/customers/", target
        client.post("/logout", data={"csrf_token": csrf_token(client)})


def test_disabled_user_sees_a_clear_page_and_is_not_signed_in(app, client):
    with app.app_context():
        User.update(active=False).where(User.email == STAFF[0]).execute()
    response = sign_in(client, *STAFF)
    assert response.status_code == 403
    assert "Your account has been disabled" in response.get_data(as_text=True)
    assert client.get("/customers/").status_code == 302


def test_disabled_user_with_wrong_password_learns_nothing(app, client):
    with app.app_context():
        User.update(active=False).where(User.email == STAFF[0]).execute()
    response = sign_in(client, STAFF[0], "wrong-password-here")
    assert response.status_code == 422
    assert "disabled" not in response.get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite_lax(client):
    response = sign_in(client, *ADMIN)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_passwords_are_stored_hashed(app):
    with app.app_context():
        user = User.get(User.email == ADMIN[0])
    assert ADMIN[1] not in user.password_hash
    assert user.password_hash.startswith("pbkdf2:")
