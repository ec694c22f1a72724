"""The import file's columns, each declared once: the step and form field it answers, what the
page says about it, and an example for the template CSV. The checks are the wizard's forms;
this only says how a spreadsheet cell becomes the answer a form expects."""

from __future__ import annotations

from dataclasses import dataclass

ALL, WHITE_LABEL_ONLY, PER_ROW_ONLY = "all", "white_label", "per_row"


@dataclass(frozen=True)
class Column:
    name: str  # the header in the file, and the wizard form's field name
    step: str  # the wizard step (slug) whose form checks it
    required: bool  # the file must have this column (its cells may still be checked as empty)
    applies: str  # ALL, WHITE_LABEL_ONLY (ignored for "the new customer" rows) or PER_ROW_ONLY
    explanation: str
    example: str = ""
    example_white_label: str = ""


COLUMNS: tuple[Column, ...] = (
    Column(
        "administered_by",
        "who",
        True,
        PER_ROW_ONLY,
        "Who will administer the account: customer (the new customer activates it from an emailed "
        "link) or white_label (you do). Only when you choose “A column in each row” on upload.",
        "customer",
        "white_label",
    ),
    Column("business_name", "contact", True, ALL, "The business’s legal name.", "Matai Joinery Ltd", "Kauri Cafe Ltd"),
    Column("trading_name", "contact", False, ALL, "Only if it trades under another name.", "Matai Joinery"),
    Column(
        "business_number",
        "contact",
        False,
        ALL,
        "NZBN (13 digits) for New Zealand, ABN (11 digits) for Australia; may be empty.",
        "9429041535837",
    ),
    Column("first_name", "contact", True, ALL, "The contact’s first name.", "Hana", "Tom"),
    Column("last_name", "contact", True, ALL, "The contact’s last name.", "Kereama", "Walker"),
    Column(
        "email",
        "contact",
        True,
        ALL,
        "The contact’s email: not already the contact of another of your customers, and only once in the file.",
        "hana@matai-joinery.example.com",
        "tom@kauri-cafe.example.com",
    ),
    Column(
        "phone", "contact", True, ALL, "The contact’s phone, local or international.", "021 123 4567", "09 555 0123"
    ),
    Column(
        "authorized",
        "contact",
        False,
        WHITE_LABEL_ONLY,
        "White-label rows: yes to confirm the contact is authorized to act for the business.",
        "",
        "yes",
    ),
    Column(
        "address_line1",
        "address",
        True,
        ALL,
        "Street address. When there is no service address it is also the service address, so it cannot be a PO Box.",
        "12 Totara Street",
        "4 Queen Street",
    ),
    Column("address_line2", "address", False, ALL, "Second line, if any."),
    Column("city", "address", True, ALL, "City or town.", "Wellington", "Auckland"),
    Column("region", "address", False, ALL, "Region or state, if the country uses one.", "Wellington", "Auckland"),
    Column("postcode", "address", True, ALL, "Postcode.", "6011", "1010"),
    Column(
        "country", "address", False, ALL, "Two-letter country code (NZ, AU…); empty means your own country.", "NZ", "NZ"
    ),
    Column(
        "service_line1",
        "address",
        False,
        ALL,
        "Where the phones are, for emergency services, if not the address above (never a PO Box). "
        "Leave every service column empty when it is the same address.",
    ),
    Column("service_line2", "address", False, ALL, "Second line of the service address."),
    Column("service_city", "address", False, ALL, "Service address city."),
    Column("service_region", "address", False, ALL, "Service address region."),
    Column("service_postcode", "address", False, ALL, "Service address postcode."),
    Column("service_country", "address", False, ALL, "Service address country code; empty means your own country."),
    Column("plan", "plan", True, ALL, "The plan’s name, as on the plan step.", "Starter", "Business"),
    Column(
        "numbers",
        "numbers",
        False,
        WHITE_LABEL_ONLY,
        "White-label rows: numbers from your inventory, separated by spaces; no more than the plan "
        "includes, each in only one row.",
        "",
        "",
    ),
    Column(
        "time_zone",
        "pbx",
        False,
        WHITE_LABEL_ONLY,
        "White-label rows: the PBX time zone, such as Pacific/Auckland; empty means yours.",
        "",
        "Pacific/Auckland",
    ),
    Column("extension_length", "pbx", False, WHITE_LABEL_ONLY, "White-label rows: 3, 4 or 5; empty means 3.", "", "3"),
    Column(
        "default_caller_id",
        "pbx",
        False,
        WHITE_LABEL_ONLY,
        "White-label rows: one of the row’s numbers, or empty for none.",
    ),
    Column(
        "voicemail_to_email", "pbx", False, WHITE_LABEL_ONLY, "White-label rows: yes or no; empty means yes.", "", "yes"
    ),
    Column("call_recording", "pbx", False, WHITE_LABEL_ONLY, "White-label rows: yes or no; empty means no.", "", "no"),
)

BY_NAME = {column.name: column for column in COLUMNS}
NAMES = tuple(column.name for column in COLUMNS)
# Where a form field's error is shown when the field is not a column of its own.
FIELD_COLUMNS = {"service_same": "service_line1", "filter": "numbers"}
ROW = "row"  # errors about the row as a whole (too many cells)


def columns_for(per_row: bool) -> tuple[Column, ...]:
    """The columns a file has: administered_by only when each row names its own option."""
    return tuple(c for c in COLUMNS if per_row or c.applies != PER_ROW_ONLY)


def template_rows(per_row: bool = True) -> list[list[str]]:
    """The template CSV: the header and two example rows (one per option when per row)."""
    columns = columns_for(per_row)
    rows = [[c.name for c in columns], [c.example for c in columns]]
    if per_row:
        rows.append([c.example_white_label for c in columns])
    return rows
