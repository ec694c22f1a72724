"""The API's request and response schemas (pydantic). The OpenAPI document is generated from
these (openapi.py), and requests are checked against them before a view runs.

The schemas check shape only: types, unknown fields, lengths. Every business rule (a valid
email or phone, a street address rather than a PO box, the plan's number allowance, the
white-label's credit, a payment gateway for the customer option...) is the wizard's forms'
job, reached through `Wizard.from_answers`, so both doors give the same answers in the same
words. `FORM_FIELDS` maps each step's form fields to where they sit in the JSON body.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel

from ..models import ApiKey, Customer, CustomerMembership
from ..onboarding.options import CUSTOMER, WHITE_LABEL


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store a NUL character; no field here can hold one.
    if "\x00" in value:
        raise ValueError("Remove the NUL character.")
    return value


def Text(max_length: int, description: str | None = None):  # noqa: N802 - a type, read as one
    return Annotated[str, Field(max_length=max_length, description=description), AfterValidator(_no_nul)]


class Body(BaseModel):
    """A request body: exact types (no "5" for 5), no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Creating a customer -------------------------------------------------------------------


class Contact(Body):
    business_name: Text(200)
    trading_name: Text(200, "Only if the business trades under a different name.") = ""
    business_number: Text(
        40,
        "Checked for the address's country: an NZBN (13 digits) for New Zealand, an ABN (11 digits) for "
        "Australia, an EIN (9 digits) for the United States, a BN (9 digits) for Canada, a company number "
        "(8 characters) for the United Kingdom; other countries' numbers as written.",
    ) = ""
    first_name: Text(100)
    last_name: Text(100)
    email: Text(254, "The contact's email: account emails (and the activation link) go here.")
    phone: Text(40, "Local or international format, read with the white-label's country.")


class AuthorizedContact(Contact):
    authorized: bool = Field(
        description="You confirm this person is authorized to act for the business (must be true)."
    )


class Address(Body):
    line1: Text(200)
    line2: Text(200) = ""
    city: Text(100)
    region: Text(100) = ""
    postcode: Text(12)
    country: Text(2, "ISO 3166-1 alpha-2 code; the white-label's country when left out.") = ""


class PlanChoice(Body):
    plan_id: int = Field(description="The id of one of the white-label's plans (GET /api/v1/plans).")


class Pbx(Body):
    time_zone: Text(64, "An IANA time zone such as Pacific/Auckland; the white-label's when left out.") = ""
    extension_length: Literal[3, 4, 5] = 3
    default_caller_id: Text(20, "One of `numbers` (E.164), or empty for none.") = ""
    voicemail_to_email: bool = True
    call_recording: bool = False


ServiceAddress = Annotated[
    Address | None,
    Field(description="The emergency-services location, when it differs from `address` (null or left out: the same)."),
]


class CreateCustomerOption(Body):
    option: Literal[CUSTOMER.key] = Field(description=CUSTOMER.hint)
    contact: Contact
    address: Address
    service_address: ServiceAddress = None
    plan: PlanChoice


class CreateWhiteLabelOption(Body):
    option: Literal[WHITE_LABEL.key] = Field(description=WHITE_LABEL.hint)
    contact: AuthorizedContact
    address: Address
    service_address: ServiceAddress = None
    plan: PlanChoice
    numbers: list[Text(20)] = Field(
        default_factory=list,
        max_length=200,
        description="Numbers from the white-label's inventory (GET /api/v1/numbers/available), E.164.",
    )
    pbx: Pbx = Field(default_factory=Pbx)


class CreateCustomer(RootModel):
    """Who will administer the account (`option`), and the wizard's answers."""

    root: Annotated[CreateCustomerOption | CreateWhiteLabelOption, Field(discriminator="option")]


def answers(body: CreateCustomerOption | CreateWhiteLabelOption) -> dict[str, dict]:
    """The request as the wizard's answers: {step slug: {form field: value}}."""
    contact = body.contact.model_dump()
    address, service = body.address, body.service_address
    result = {
        "contact": contact,
        "address": {
            "address_line1": address.line1,
            "address_line2": address.line2,
            "city": address.city,
            "region": address.region,
            "postcode": address.postcode,
            "country": address.country or None,
            "service_same": service is None,
        },
        "plan": {"plan": str(body.plan.plan_id)},
    }
    if service is not None:
        result["address"].update(
            {
                "service_line1": service.line1,
                "service_line2": service.line2,
                "service_city": service.city,
                "service_region": service.region,
                "service_postcode": service.postcode,
                "service_country": service.country or None,
            }
        )
    if isinstance(body, CreateWhiteLabelOption):
        result["numbers"] = {"numbers": list(body.numbers)}
        pbx = body.pbx
        result["pbx"] = {
            "time_zone": pbx.time_zone or None,
            "extension_length": str(pbx.extension_length),
            "default_caller_id": pbx.default_caller_id,
            "voicemail_to_email": pbx.voicemail_to_email,
            "call_recording": pbx.call_recording,
        }
    return result


# Where each step's form field sits in the request body (JSON pointer), for errors.
FORM_FIELDS: dict[str, dict[str, str]] = {
    "who": {"administered_by": "/option"},
    "contact": {name: f"/contact/{name}" for name in AuthorizedContact.model_fields},
    "address": {
        "address_line1": "/address/line1",
        "address_line2": "/address/line2",
        "city": "/address/city",
        "region": "/address/region",
        "postcode": "/address/postcode",
        "country": "/address/country",
        "service_same": "/service_address",
        "service_line1": "/service_address/line1",
        "service_line2": "/service_address/line2",
        "service_city": "/service_address/city",
        "service_region": "/service_address/region",
        "service_postcode": "/service_address/postcode",
        "service_country": "/service_address/country",
    },
    "plan": {"plan": "/plan/plan_id"},
    "numbers": {"numbers": "/numbers"},
    "pbx": {name: f"/pbx/{name}" for name in Pbx.model_fields},
}


class InviteUser(Body):
    first_name: Text(100)
    last_name: Text(100)
    email: Text(254)
    extension: Text(5, "Digits, as many as the customer's PBX extension length (3 unless changed).")
    role: Literal[CustomerMembership.USER, CustomerMembership.ACCOUNT_ADMINISTRATOR] = CustomerMembership.USER


# --- Query strings ---------------------------------------------------------------------------


class CustomerQuery(Body):
    model_config = ConfigDict(extra="forbid", strict=False)  # a query string is text: "20" is 20

    q: str = Field("", max_length=100, description="Words that must all appear in the name or contact email.")
    status: Literal[tuple(Customer.STATUSES)] = Field(None, description="Only customers in this status.")  # type: ignore[valid-type]
    limit: int = Field(20, ge=1, le=100)
    cursor: str = Field("", max_length=40, description="`next_cursor` of the previous page.")


class NumberQuery(Body):
    model_config = ConfigDict(extra="forbid", strict=False)

    contains: str = Field("", max_length=20, description="Digits the number must contain.")
    limit: int = Field(50, ge=1, le=200)
    cursor: str = Field("", max_length=20, description="`next_cursor` of the previous page.")


# --- Responses -------------------------------------------------------------------------------


class Money(Out):
    amount: int = Field(description="Minor units (cents).")
    currency: str


class PlanOut(Out):
    id: int
    name: str
    monthly_price: Money
    min_opening_balance: Money
    included_numbers: int


class PlanList(Out):
    data: list[PlanOut]


class PlanRef(Out):
    id: int
    name: str


class Person(Out):
    name: str
    email: str


class AdministeredBy(Out):
    option: Literal[CUSTOMER.key, WHITE_LABEL.key]
    label: str
    account_administrators: list[Person] = Field(
        description="Who administers the account now: the contact once they activate, or the white-label's "
        "administrator for an account the white-label runs."
    )


class ContactOut(Out):
    first_name: str
    last_name: str
    email: str
    phone: str


class AddressOut(Out):
    line1: str
    line2: str
    city: str
    region: str
    postcode: str
    country: str


ARCHIVED = (
    "When the white-label archived the customer in its console (RFC 3339, UTC), or null. Archiving only tidies "
    "the console's list: the API still lists and answers for archived customers."
)


class Activation(Out):
    state: Literal["pending", "opened", "expired", "activated", "cancelled"]
    emails_sent: int
    sent_at: str | None = Field(description="RFC 3339, UTC.")
    expires_at: str | None
    opened_at: str | None
    activated_at: str | None


class CustomerOut(Out):
    id: int
    business_name: str
    trading_name: str
    business_number: str
    contact: ContactOut
    address: AddressOut
    service_address: AddressOut
    status: Literal[tuple(Customer.STATUSES)]  # type: ignore[valid-type]
    status_label: str
    administered_by: AdministeredBy
    plan: PlanOut | None
    balance: Money
    numbers: list[str]
    activation: Activation | None = Field(description="For customers who activate by email; null otherwise.")
    created_at: str
    activated_at: str | None
    archived_at: str | None = Field(description=ARCHIVED)


class CustomerSummary(Out):
    id: int
    business_name: str
    contact_name: str
    contact_email: str
    status: Literal[tuple(Customer.STATUSES)]  # type: ignore[valid-type]
    administered_by: Literal[CUSTOMER.key, WHITE_LABEL.key]
    plan: PlanRef | None
    created_at: str
    archived_at: str | None = Field(description=ARCHIVED)


class CustomerList(Out):
    data: list[CustomerSummary]
    has_more: bool
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class NumberOut(Out):
    number: str = Field(description="E.164.")
    display: str


class NumberList(Out):
    data: list[NumberOut]
    has_more: bool
    next_cursor: str | None


class UserOut(Out):
    id: int = Field(description="The person's membership of this customer account.")
    first_name: str = Field(description="As sent: the name is the person's own only once they accept.")
    last_name: str
    email: str
    role: Literal[CustomerMembership.USER, CustomerMembership.ACCOUNT_ADMINISTRATOR]
    extension: str
    status: Literal[CustomerMembership.INVITED, CustomerMembership.ACTIVE, CustomerMembership.DEACTIVATED] = Field(
        description="invited until the person accepts the emailed invitation"
    )
    invited: bool


class FieldError(Out):
    pointer: str | None = Field(None, description="JSON pointer (RFC 6901) to the field in the request body.")
    parameter: str | None = Field(None, description="The query parameter at fault.")
    detail: str


class Problem(Out):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


SCOPES = tuple(ApiKey.SCOPE_LABELS)
