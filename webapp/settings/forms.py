"""The payment-gateway form, and how a stored Stripe secret key is shown (never in full)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from wtforms import IntegerField, PasswordField, RadioField, SelectChoice, SelectField, StringField, URLField
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from ..forms import AppForm
from ..onboarding.forms import PbxForm

GATEWAY_CHOICES = [
    SelectChoice("none", "None: customers cannot pay by card, so “The new customer” option is unavailable"),
    SelectChoice("sandbox", "Sandbox: test cards only, no real money"),
    SelectChoice("stripe", "Stripe"),
]

PUBLISHABLE_KEY = re.compile(r"pk_(test|live)_[A-Za-z0-9_]+")
# Restricted keys (rk_) also carry their mode, and the mode check below needs it.
SECRET_KEY = re.compile(r"(?:sk|rk)_(test|live)_[A-Za-z0-9_]+")
WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=_-]{16,}")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def key_mode(key: str) -> str | None:
    """The mode of a well-formed Stripe key ("test" or "live"), or None."""
    match = PUBLISHABLE_KEY.fullmatch(key) or SECRET_KEY.fullmatch(key)
    return match.group(1) if match else None


def masked_secret(key: str) -> str:
    """A stored secret key as people see it: `sk_test_…abcd` (prefix and last four characters)."""
    parts = key.split("_", 2)
    if len(parts) < 3 or len(parts[2]) < 12:
        # Too short to show four characters without giving much of it away.
        return "…"
    return f"{parts[0]}_{parts[1]}_…{key[-4:]}"


def masked_webhook_secret(secret: str) -> str:
    """A stored signing secret as people see it: `whsec_…abcd`."""
    if not secret.startswith("whsec_") or len(secret) < 22:
        return "…"
    return f"whsec_…{secret[-4:]}"


class PaymentGatewayForm(AppForm):
    payment_gateway = RadioField(
        "Payment gateway",
        choices=GATEWAY_CHOICES,
        validators=[InputRequired("Choose a payment gateway.")],
    )
    stripe_publishable_key = StringField("Stripe publishable key", filters=[_strip], validators=[Length(max=255)])
    # A PasswordField never renders its value, so the secret key never goes back to the browser.
    stripe_secret_key = PasswordField("Stripe secret key", filters=[_strip], validators=[Length(max=255)])

    # Optional: without it the reconciliation job finds payments instead (README, Stripe).
    stripe_webhook_secret = PasswordField(
        "Stripe webhook signing secret", filters=[_strip], validators=[Length(max=255)]
    )

    def __init__(self, *args, stored_secret_key: str = "", stored_webhook_secret: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.stored_secret_key = stored_secret_key
        self.stored_webhook_secret = stored_webhook_secret

    @property
    def webhook_secret_to_store(self) -> str:
        """The signing secret typed in, or the stored one when the field was left blank."""
        return self.stripe_webhook_secret.data or self.stored_webhook_secret

    @property
    def secret_key_to_store(self) -> str:
        """The secret key typed in, or the stored one when the field was left blank."""
        return self.stripe_secret_key.data or self.stored_secret_key

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.payment_gateway.data != "stripe":
            # The Stripe keys are kept as they are, so switching back to Stripe loses nothing.
            return True
        return self._validate_stripe_keys()

    def _validate_stripe_keys(self) -> bool:
        publishable = self.stripe_publishable_key.data or ""
        typed_secret = self.stripe_secret_key.data or ""
        ok = True
        if not publishable:
            self.stripe_publishable_key.errors.append("Enter the Stripe publishable key.")
            ok = False
        elif not PUBLISHABLE_KEY.fullmatch(publishable):
            self.stripe_publishable_key.errors.append("Enter a publishable key that starts with pk_test_ or pk_live_.")
            ok = False
        if typed_secret and not SECRET_KEY.fullmatch(typed_secret):
            self.stripe_secret_key.errors.append(
                "Enter a secret key that starts with sk_test_, sk_live_, rk_test_ or rk_live_."
            )
            ok = False
        elif not self.secret_key_to_store:
            self.stripe_secret_key.errors.append("Enter the Stripe secret key.")
            ok = False
        typed_webhook_secret = self.stripe_webhook_secret.data or ""
        if typed_webhook_secret and not WEBHOOK_SECRET.fullmatch(typed_webhook_secret):
            self.stripe_webhook_secret.errors.append(
                "Enter a signing secret that starts with whsec_, copied from the webhook endpoint in your Stripe dashboard."
            )
            ok = False
        if not ok:
            return False
        publishable_mode = key_mode(publishable)
        secret_mode = key_mode(self.secret_key_to_store)
        if publishable_mode != secret_mode:
            secret_source = "secret key" if typed_secret else "stored secret key"
            self.stripe_publishable_key.errors.append(
                f"The publishable key is a {publishable_mode} key but the {secret_source} is a "
                f"{secret_mode or 'different'} key. Use both keys from the same mode (test or live)."
            )
            return False
        return True


class CustomerTemplateForm(AppForm):
    """A customer template (Settings > Templates). The PBX fields are the wizard's own (PbxForm),
    so a template offers exactly the choices the PBX step does; the wizard checks every answer
    again when a draft starts from it."""

    name = StringField(
        "Name",
        filters=[_strip],
        validators=[InputRequired("Enter a name for the template."), Length(max=100)],
        description="What you choose on the wizard’s first step, for example “Small office”.",
    )
    administered_by = RadioField(
        "Who will administer accounts made from it?",
        choices=[],
        validators=[InputRequired("Choose who will administer accounts made from this template.")],
    )
    plan = SelectField("Plan", choices=[], default="")
    number_count = IntegerField(
        "Phone numbers",
        default=0,
        validators=[
            InputRequired("Enter how many phone numbers to pick, or 0 for none."),
            NumberRange(min=0, max=50, message="Enter a number of phone numbers from 0 to 50."),
        ],
        description=(
            "How many free numbers the wizard picks for you (0 for none). Only when you administer the "
            "account; no more than the plan includes."
        ),
    )
    time_zone = PbxForm.time_zone
    extension_length = PbxForm.extension_length
    voicemail_to_email = PbxForm.voicemail_to_email
    call_recording = PbxForm.call_recording

    def __init__(self, *args, white_label, options=(), plans=(), **kwargs):
        from ..phones import time_zone_choices

        super().__init__(*args, **kwargs)
        self.white_label = white_label
        self.options = {option.key: option for option in options}
        self.administered_by.choices = [SelectChoice(o.key, o.label) for o in options]
        self.plans = {str(p.id): p for p in plans}
        self.plan.choices = [SelectChoice("", "Choose in the wizard")] + [
            SelectChoice(key, p.name) for key, p in self.plans.items()
        ]
        self.time_zone.choices = time_zone_choices()
        if not self.time_zone.data:
            self.time_zone.data = white_label.time_zone

    def validate_number_count(self, field):
        option = self.options.get(self.administered_by.data)
        count = field.data or 0
        if count and option is not None and not option.white_label_administers:
            raise ValidationError(
                f"Choose 0: numbers are added only for accounts you administer, not “{option.label}”."
            )
        plan = self.plans.get(self.plan.data or "")
        if plan is not None and count > plan.included_numbers:
            raise ValidationError(
                f"Choose at most {plan.included_numbers}: that is what the {plan.name} plan includes."
            )

    def values(self) -> dict:
        """What the template stores (onboarding/templates.py FIELDS)."""
        return {
            "name": self.name.data,
            "administered_by": self.administered_by.data,
            "plan": self.plans.get(self.plan.data or ""),
            "number_count": self.number_count.data or 0,
            "time_zone": self.time_zone.data,
            "extension_length": int(self.extension_length.data),
            "voicemail_to_email": bool(self.voicemail_to_email.data),
            "call_recording": bool(self.call_recording.data),
        }


class TermsForm(AppForm):
    """Where the white-label's terms of service are; the activation checkbox links there."""

    terms_url = URLField(
        "Terms of service address",
        filters=[_strip],
        validators=[Length(max=500, message="Use an address of at most 500 characters.")],
        description="The web page with your terms of service, starting https://. Leave blank for no link.",
    )

    def validate_terms_url(self, field):
        if not field.data:
            return
        parts = urlsplit(field.data)
        if parts.scheme not in ("https", "http") or not parts.netloc or " " in field.data:
            raise ValidationError("Enter the full address of the page, like https://example.com/terms.")
