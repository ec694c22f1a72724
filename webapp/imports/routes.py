"""Customers > Import: the HTTP side. Views read the request and call service.py."""

from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, stream_with_context, url_for

from ..http import see_other
from ..models import CustomerImport
from ..security import acting_user, admin_required
from ..templating import render
from ..tenancy import current_white_label, get_scoped_or_404, scoped
from ..urls import external_url
from . import bp, service
from .columns import COLUMNS, PER_ROW_ONLY, WHITE_LABEL_ONLY, template_rows
from .forms import UploadForm
from .reader import megabytes

BAD_ROWS_SHOWN = 200


def _upload_page(form: UploadForm, status: int = 200):
    white_label = current_white_label()
    max_bytes, max_rows = service.limits()
    recent = (
        scoped(CustomerImport, of=white_label)
        .where(CustomerImport.status != CustomerImport.DISCARDED)
        .order_by(CustomerImport.created_at.desc(), CustomerImport.id.desc())
        .limit(10)
    )
    return render(
        "imports/index.html",
        status=status,
        form=form,
        columns=COLUMNS,
        per_row_only=PER_ROW_ONLY,
        white_label_only=WHITE_LABEL_ONLY,
        max_size=megabytes(max_bytes),
        max_rows=max_rows,
        recent=list(recent),
    )


@bp.get("/")
@admin_required
def index():
    """The import page: what the file holds, its limits, the template and the upload form."""
    return _upload_page(UploadForm(white_label=current_white_label(), formdata=None))


@bp.post("/")
@admin_required
def upload():
    """Read an uploaded file and go to its page, where the worker's checks of each row show
    their progress, then the preview; nothing is created yet."""
    white_label = current_white_label()
    form = UploadForm(white_label=white_label)
    if not form.validate():
        return _upload_page(form, 422)
    upload = form.file.data
    job = service.receive_file(white_label, acting_user(), upload.stream, upload.filename, form.chosen())
    if job.file_error:
        form.file.errors = [job.file_error]
        job.delete_instance()
        return _upload_page(form, 422)
    return see_other(url_for("imports.show", import_id=job.id))


@bp.errorhandler(413)
def too_large(error):
    """A file over the limit: the upload page again, saying what the limit is."""
    form = UploadForm(white_label=current_white_label(), formdata=None)
    max_bytes, _ = service.limits()
    form.file.errors = [
        f"The file is larger than {megabytes(max_bytes)}, the most one import takes. "
        "Split it into smaller files and import them one after the other."
    ]
    return _upload_page(form, 413)


@bp.get("/template.csv")
@admin_required
def template():
    """The template file: every column, with an example row for each option."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(template_rows(per_row=True))
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="customers-import-template.csv"'},
    )


def _job(import_id: int) -> CustomerImport:
    return get_scoped_or_404(CustomerImport, import_id)


@bp.get("/<int:import_id>")
@admin_required
def show(import_id: int):
    """One import: its preview before it is confirmed, its progress, then its result."""
    job = _job(import_id)
    if job.status == CustomerImport.DISCARDED:
        abort(404)
    context = {"job": job, "progress": service.progress(job), "checking": service.checking(job)}
    if job.status == CustomerImport.READING:
        context["read"] = service.rows_read(job)
    elif context["checking"]:
        context["checked"] = service.checked_count(job)
    elif job.status == CustomerImport.CHECKED:
        context.update(
            bad_rows=[(row.line, service.error_list(row.errors)) for row in service.bad_rows(job, BAD_ROWS_SHOWN)],
            bad_rows_shown=BAD_ROWS_SHOWN,
            credit_problem=service.credit_problem(job),
            ready=service.ready_count(job),
            form=UploadForm(white_label=current_white_label(), formdata=None),
            max_size=megabytes(service.limits()[0]),
            max_rows=service.limits()[1],
        )
    return render("imports/show.html", "imports/_job.html", **context)


@bp.post("/<int:import_id>/confirm")
@admin_required
def confirm(import_id: int):
    """Start creating the ready rows (the worker does it)."""
    job = _job(import_id)
    try:
        service.confirm(job, acting_user())
    except service.ImportRefused as refused:
        flash(str(refused), "error")
    return see_other(url_for("imports.show", import_id=job.id))


@bp.post("/<int:import_id>/cancel")
@admin_required
def cancel(import_id: int):
    """Stop creating; the customers already created stay."""
    job = service.cancel(_job(import_id), acting_user())
    if job.status == CustomerImport.CANCELLED and job.confirmed_at is None:
        flash("Checking stopped. Nothing was created from this file.", "success")
    elif job.status == CustomerImport.CANCELLED:
        flash("Import cancelled. The customers already created stay; the report lists every row.", "success")
    return see_other(url_for("imports.show", import_id=job.id))


@bp.get("/<int:import_id>/report.csv")
@admin_required
def report(import_id: int):
    """Every row of the file and what became of it, as CSV."""
    job = _job(import_id)

    def customer_url(customer_id: int) -> str:
        return external_url("customers.show", customer_id=customer_id)

    return Response(
        stream_with_context(service.report_lines(job, customer_url)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-report.csv"'},
    )
