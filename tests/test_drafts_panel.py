"""The unfinished-drafts panel on the customers list, and the wizard's first step answered
twice (issue 15, section 3)."""

from __future__ import annotations

import datetime as dt
import re

from conftest import csrf_token
from testkit.wizard import CONTACT, post, start
from webapp.models import CustomerDraft, utcnow


def _panel(client) -> str:
    html = client.get("/customers/").get_data(as_text=True)
    return html.split('id="drafts-title"', 1)[1].split("</section>", 1)[0] if 'id="drafts-title"' in html else ""


def _draft(client, email: str, option: str = "customer") -> str:
    _, base = start(client, option)
    post(client, f"{base}/contact", {**CONTACT, "email": email, "authorized": "y", "action": "back"})
    return base


def test_each_draft_shows_its_contact_email_option_and_next_step(app, admin_client):
    _draft(admin_client, "first@matai.example.com")
    _draft(admin_client, "second@matai.example.com", option="white_label")
    panel = _panel(admin_client)
    assert "first@matai.example.com" in panel and "second@matai.example.com" in panel
    assert "Administered by: The customer" in panel and "Administered by: White-label" in panel
    assert "next: Contact" in panel or "next: Address" in panel
    assert "<details" not in panel  # three or fewer: all shown


def test_more_than_three_drafts_collapse_to_a_count(app, admin_client):
    for n in range(4):
        _draft(admin_client, f"owner{n}@matai.example.com")
    panel = _panel(admin_client)
    assert "<details" in panel
    assert "Show all 4 unfinished customers" in panel
    assert panel.count('class="draft-list__item"') == 4


def test_discard_all_older_than_keeps_the_recent_ones_and_other_peoples(app, admin_client, other_admin_client):
    old = [_draft(admin_client, f"old{n}@matai.example.com") for n in range(2)]
    _draft(admin_client, "recent@matai.example.com")
    _draft(other_admin_client, "theirs@wattle.example.com", option="white_label")
    with app.app_context():
        assert CustomerDraft.select().count() == 4
        keys = [base.rsplit("/", 1)[1] for base in old]
        CustomerDraft.update(updated_at=utcnow() - dt.timedelta(days=8)).where(CustomerDraft.key.in_(keys)).execute()
        theirs = CustomerDraft.data.contains("theirs@")
        CustomerDraft.update(updated_at=utcnow() - dt.timedelta(days=40)).where(theirs).execute()
    response = admin_client.post(
        "/customers/new/discard-older", data={"csrf_token": csrf_token(admin_client), "days": "7"}
    )
    assert response.status_code == 303
    with app.app_context():
        left = [d.data.get("contact", {}).get("values", {}).get("email") for d in CustomerDraft.select()]
    assert sorted(left) == ["recent@matai.example.com", "theirs@wattle.example.com"]
    assert "2 drafts older than 7 days discarded." in admin_client.get("/customers/").get_data(as_text=True)


def test_discard_older_refuses_an_age_it_does_not_offer(app, admin_client):
    _draft(admin_client, "keep@matai.example.com")
    with app.app_context():
        CustomerDraft.update(updated_at=utcnow() - dt.timedelta(days=400)).execute()
    admin_client.post("/customers/new/discard-older", data={"csrf_token": csrf_token(admin_client), "days": "0"})
    with app.app_context():
        assert CustomerDraft.select().count() == 1


def test_staff_cannot_discard_drafts(app, admin_client, staff_client):
    _draft(admin_client, "keep@matai.example.com")
    with app.app_context():
        CustomerDraft.update(updated_at=utcnow() - dt.timedelta(days=400)).execute()
    response = staff_client.post(
        "/customers/new/discard-older", data={"csrf_token": csrf_token(staff_client), "days": "1"}
    )
    assert response.status_code == 403
    with app.app_context():
        assert CustomerDraft.select().count() == 1


def test_choosing_again_on_the_first_step_page_keeps_the_same_draft(app, admin_client):
    """The browser's Back from step 2 shows the first step's page as it was; choosing again
    there answers the draft that page started."""
    page = admin_client.get("/customers/new/", follow_redirects=True).get_data(as_text=True)
    attempt = re.search(r'name="attempt" value="([^"]+)"', page).group(1)
    token = csrf_token(admin_client)
    first = admin_client.post(
        "/customers/new/", data={"csrf_token": token, "attempt": attempt, "administered_by": "customer"}
    )
    key = re.search(r"/customers/new/([^/]+)/", first.headers["Location"]).group(1)
    post(admin_client, f"/customers/new/{key}/contact", {**CONTACT, "email": "typed@matai.example.com"})
    again = admin_client.post(
        "/customers/new/", data={"csrf_token": token, "attempt": attempt, "administered_by": "white_label"}
    )
    assert again.status_code == 303
    assert f"/customers/new/{key}/" in again.headers["Location"]
    with app.app_context():
        drafts = list(CustomerDraft.select())
        assert len(drafts) == 1
        assert drafts[0].administered_by == "white_label"
        assert drafts[0].data["contact"]["values"]["email"] == "typed@matai.example.com"  # kept


def test_a_new_first_step_page_starts_a_new_draft(app, admin_client):
    start(admin_client, "customer")
    start(admin_client, "customer")
    with app.app_context():
        assert CustomerDraft.select().count() == 2
