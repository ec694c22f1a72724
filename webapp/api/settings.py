"""Settings > API keys: administrators make and revoke keys; staff see the list."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from wtforms import RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from ..forms import AppForm
from ..models import ApiKey
from ..security import acting_user, admin_required, is_admin, white_label_required
from ..templating import render
from ..tenancy import current_white_label, get_scoped_or_404
from . import keys_bp as bp
from .keys import create_key, keys_of, revoke_key


class ApiKeyForm(AppForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter a name for the key, such as the shop it is for."),
            Length(max=100, message="Use at most 100 characters."),
        ],
        description="So you know where it is used, for example “Web shop”.",
    )
    scope = RadioField(
        "What can it do?",
        default=ApiKey.READ,
        choices=[
            SelectChoice(ApiKey.READ, "Read only: list and read customers, plans and numbers"),
            SelectChoice(
                ApiKey.READ_WRITE,
                "Read and write: also create customers, resend or cancel activations and invite users",
            ),
        ],
        validators=[InputRequired("Choose what the key can do.")],
    )


def _page(form: ApiKeyForm, *, status: int = 200, new_key=None):
    response = render(
        "settings/api_keys.html",
        form=form,
        keys=keys_of(current_white_label()),
        new_key=new_key,
        can_manage=is_admin(),
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"  # it may hold a new key's secret
    return response


@bp.route("/", methods=["GET", "POST"])
@white_label_required
def index():
    """The white-label's API keys; administrators create one here and see its secret once."""
    form = ApiKeyForm()
    if not form.is_submitted():
        return _page(form)
    if not is_admin():
        abort(403)
    if not form.validate():
        return _page(form, status=422)
    new_key = create_key(current_white_label(), acting_user(), name=form.name.data, scope=form.scope.data)
    # The secret is in this response and nowhere else (not in the session, not in the database),
    # so this POST answers with the page rather than redirecting.
    return _page(ApiKeyForm(formdata=None), status=201, new_key=new_key)


@bp.post("/<int:key_id>/revoke")
@admin_required
def revoke(key_id: int):
    """Revoke a key: the next request that uses it is refused."""
    key = get_scoped_or_404(ApiKey, key_id)
    if revoke_key(key, acting_user()):
        flash(
            f"The key “{key.name}” (pbx_{key.prefix}_…) is revoked. Requests using it are refused from now on.",
            "success",
        )
    return redirect(url_for("api_keys.index"), code=303)
