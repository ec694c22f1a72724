"""Phone numbers shown as people of the white-label's country write them (issue 15, item 5):
stored in E.164, shown in national format on the customer page, in flashed messages, on
/account, in emails and in the support line; never as "+64..." where a New Zealander reads."""

from __future__ import annotations

import re

from testkit.mail import emailed_link
from testkit.wizard import complete_customer_option, complete_white_label_option, post
from webapp.models import Customer, PhoneNumber


def visible_text(html: str) -> str:
    """What a person reads: no tags, attributes (tel: links, form values) or scripts."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_the_customer_page_and_account_show_national_numbers(app, admin_client):
    base = complete_white_label_option(admin_client, app, plan="Business", numbers=["+6495550100"])
    assert post(admin_client, f"{base}/review").status_code == 303
    with app.app_context():
        customer = Customer.get(Customer.business_name == "Matai Joinery Ltd")
        spare = PhoneNumber.get(PhoneNumber.number == "+6495550101")
    assigned = post(admin_client, f"/customers/{customer.id}/numbers", {"number": str(spare.id)}, follow_redirects=True)
    text = visible_text(assigned.get_data(as_text=True))
    assert "09 555 0101 is now on Matai Joinery Ltd." in text
    assert "021 123 4567" in text and "09 555 0100" in text
    assert "+64" not in text
    account = visible_text(admin_client.get("/account/", follow_redirects=True).get_data(as_text=True))
    assert "09 555 0100" in account and "+64" not in account


def test_emails_show_the_support_line_in_national_format(app, admin_client, smtp):
    base = complete_customer_option(admin_client, app, email="phones@matai.example.com")
    assert post(admin_client, f"{base}/review").status_code == 303
    emailed_link(app, smtp, "phones@matai.example.com")
    message = smtp.messages[-1]
    text = smtp.text(message)
    assert "09 555 0199" in text and "+6495550199" not in text
    html = next(part for part in message.walk() if part.get_content_type() == "text/html").get_content()
    assert "09 555 0199" in visible_text(html)
