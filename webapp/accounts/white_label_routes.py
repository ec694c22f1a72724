"""The white-label's pages about one of its customers' accounts (/customers/<id>/...): users,
numbers, PBX settings and plan of the accounts it administers; status and hand-over. Who may
do what is permissions.py's; the forms both sides share are in views.py."""

from flask import flash
from htmx_flask import request
from wtforms import SelectChoice

from ..activation import service as activation_service
from ..customers import service as customer_service
from ..forms import form_status
from ..models import Customer, PhoneNumber
from ..onboarding.forms import AddressForm, ContactForm
from ..phones import display_phone
from ..templating import render
from ..tenancy import scoped
from . import service, views
from . import white_label_bp as bp
from .forms import AssignNumberForm, StatusForm
from .permissions import Access, Action
from .views import back_to_account, white_label_page


@bp.route("/users/new", methods=["GET", "POST"])
@white_label_page(Action.MANAGE_USERS)
def new_user(access: Access):
    """Add a user: invite them, or set a temporary password they must change."""
    return views.user_form(access)


@bp.post("/users/<int:membership_id>/deactivate")
@white_label_page(Action.MANAGE_USERS)
def deactivate_user(access: Access, membership_id: int):
    """Stop a person using this account (their history stays)."""
    return views.deactivate(access, membership_id)


@bp.post("/users/<int:membership_id>/resend")
@white_label_page(Action.MANAGE_USERS)
def resend_invitation(access: Access, membership_id: int):
    """Send the invitation again; the older link stops working."""
    return views.resend(access, membership_id)


@bp.post("/users/<int:membership_id>/reactivate")
@white_label_page(Action.MANAGE_USERS)
def reactivate_user(access: Access, membership_id: int):
    """Let a deactivated person back: they get a new invitation to accept."""
    return views.reactivate(access, membership_id)


@bp.post("/numbers")
@white_label_page(Action.MANAGE_NUMBERS)
def assign_number(access: Access):
    """Give the customer a number from the white-label's inventory."""
    customer = access.customer
    form = AssignNumberForm()
    form.number.choices = [
        SelectChoice(str(n.id), n.number) for n in scoped(PhoneNumber).where(PhoneNumber.customer.is_null())
    ]
    # A refusal is shown beside the Assign button (the page again, 422), not at the top out of view.
    from ..customers.routes import customer_page

    if not form.validate_on_submit():
        return customer_page(access, status=422, number="Choose one of the available numbers.")
    try:
        number = service.assign_number(customer, int(form.number.data), access.user)
    except service.AccountProblem as problem:
        return customer_page(access, status=422, number=problem.message)
    flash(
        f"{display_phone(number.number, customer.white_label.country)} is now on {customer.business_name}.", "success"
    )
    return back_to_account(access, "numbers")


@bp.post("/numbers/<int:number_id>/release")
@white_label_page(Action.MANAGE_NUMBERS)
def release_number(access: Access, number_id: int):
    """Return a number to the inventory."""
    try:
        service.release_number(access.customer, number_id, access.user)
        flash("The number is back in your inventory.", "success")
    except service.AccountProblem as problem:
        flash(problem.message, "error")
    return back_to_account(access, "numbers")


@bp.route("/pbx", methods=["GET", "POST"])
@white_label_page(Action.EDIT_PBX)
def pbx_settings(access: Access):
    """Edit the customer's PBX settings."""
    return views.pbx_form(access)


@bp.route("/plan", methods=["GET", "POST"])
@white_label_page(Action.CHANGE_PLAN)
def change_plan(access: Access):
    """Move the customer to another plan, prorated for the rest of its billing month; the page
    says what each plan would charge or credit to the white-label account before you confirm."""
    return views.plan_form(access)


@bp.route("/status", methods=["GET", "POST"])
@white_label_page(Action.CHANGE_STATUS)
def change_status(access: Access):
    """Suspend an active customer or reactivate a suspended one, with a reason."""
    customer = access.customer
    suspend = customer.status == Customer.ACTIVE
    form = StatusForm()
    if form.validate_on_submit():
        try:
            service.set_status(customer, access.user, suspend=suspend, reason=form.reason.data.strip())
            flash(f"{customer.business_name} has been {'suspended' if suspend else 'reactivated'}.", "success")
        except service.AccountProblem as problem:
            flash(problem.message, "error")
        return back_to_account(access)
    return render("manage/status_form.html", customer=customer, form=form, suspend=suspend, status=form_status(form))


@bp.route("/hand-over", methods=["GET", "POST"])
@white_label_page(Action.HAND_OVER)
def hand_over(access: Access):
    """Hand a white-label-administered account to the customer (they activate it by email)."""
    customer = access.customer
    if request.method == "POST":
        service.hand_over(customer, access.user)
        flash(
            f"An activation email is on its way to {customer.contact_email}. When they activate, "
            "they administer the account and your Account Administrator role ends.",
            "success",
        )
        return back_to_account(access)
    return render("manage/hand_over.html", customer=customer)


@bp.post("/hand-over/cancel")
@white_label_page(Action.CANCEL_HAND_OVER)
def cancel_hand_over(access: Access):
    """Stop a hand-over the contact has not accepted: the link stops working, nothing else changes."""
    customer = access.customer
    if activation_service.cancel_hand_over(customer, access.user):
        flash(
            f"The hand-over is cancelled: the link sent to {customer.contact_email} no longer works. "
            "You still administer the account.",
            "success",
        )
    else:
        flash("There was no hand-over waiting: nothing changed.", "info")
    return back_to_account(access)


@bp.route("/edit", methods=["GET", "POST"])
@white_label_page(Action.EDIT_DETAILS)
def edit_details(access: Access):
    """Correct the customer's contact, business and addresses, checked as the wizard checks them."""
    customer = access.customer
    contact, address = details_forms(customer)
    # Both forms checked, so every mistake shows at once.
    if contact.is_submitted() and all([contact.validate(), address.validate()]):
        changes = customer_service.edit_details(customer, access.user, contact, address)
        if not changes:
            flash("Nothing was changed.", "info")
        elif "contact_email" in changes and (access.awaiting_activation or access.hand_over_pending):
            flash(
                f"Details saved. A new activation email is on its way to {contact.normalised['email']}; "
                "the link sent to the old address no longer works.",
                "success",
            )
        else:
            flash("Details saved. The history shows what changed.", "success")
        return back_to_account(access)
    return render(
        "manage/details_form.html",
        customer=customer,
        access=access,
        contact=contact,
        address=address,
        fields=[*contact, *address],
        status=422 if request.method == "POST" else 200,
    )


def details_forms(customer: Customer):
    """The wizard's contact and address forms, filled from the customer (or from what was posted)."""
    white_label = customer.white_label
    posted = request.method == "POST"
    same = customer.service_same_as_address
    contact = ContactForm(
        formdata=request.form if posted else None,
        white_label=white_label,
        editing=customer,
        data=None
        if posted
        else {
            "business_name": customer.business_name,
            "trading_name": customer.trading_name,
            "business_number": customer.business_number,
            "first_name": customer.contact_first_name,
            "last_name": customer.contact_last_name,
            "email": customer.contact_email,
            "phone": display_phone(customer.contact_phone, white_label.country),
        },
    )
    address = AddressForm(
        formdata=request.form if posted else None,
        white_label=white_label,
        meta={"csrf": False},  # one form on the page: the contact form carries the token
        data=None
        if posted
        else {
            "address_line1": customer.address_line1,
            "address_line2": customer.address_line2,
            "city": customer.city,
            "region": customer.region,
            "postcode": customer.postcode,
            "country": customer.country or white_label.country,
            "service_same": same,
            "service_line1": "" if same else customer.service_line1,
            "service_line2": "" if same else customer.service_line2,
            "service_city": "" if same else customer.service_city,
            "service_region": "" if same else customer.service_region,
            "service_postcode": "" if same else customer.service_postcode,
            "service_country": (customer.country if same else customer.service_country) or white_label.country,
        },
    )
    return contact, address


@bp.post("/archive")
@white_label_page(Action.ARCHIVE)
def archive(access: Access):
    """Hide a cancelled or expired customer from the list (nothing is deleted)."""
    customer = access.customer
    if customer_service.set_archived(customer, access.user, True):
        flash(
            f"{customer.business_name} is archived: the customers list shows it only with “Include archived”.",
            "success",
        )
    return back_to_account(access)


@bp.post("/unarchive")
@white_label_page(Action.ARCHIVE)
def unarchive(access: Access):
    """Bring an archived customer back to the list."""
    customer = access.customer
    if customer_service.set_archived(customer, access.user, False):
        flash(f"{customer.business_name} is back in the customers list.", "success")
    return back_to_account(access)
