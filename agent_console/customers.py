"""Customer records (客户档案): search, the record with its timeline, audited edits, merges.

Thin views over tickets.customer_records; contact details are shown by role (policy.phone_for,
policy.address_for), as on every other page.
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from tickets import board, cards, customer_records, customers
from tickets.errors import HotlineError, ValidationError
from tickets.inputs import must_exist
from tickets.models import District

from .app import db
from .customer_forms import AddressForm, CustomerForm, MergeForm
from .i18n import t
from .pages import show_error
from .policy import AREAS, address_for
from .security import role_required

bp = Blueprint("customers", __name__, url_prefix="/customers")


@bp.app_template_global()
def customer_address(address) -> str:
    """An address row of a record as the current user may see it."""
    return address_for(g.actor, address.text, address.district.name_zh if address.district else "")


@bp.get("/")
@role_required(AREAS["customers"])
def search():
    q = request.args.get("q", "").strip()
    s = db()
    with s.begin():
        code, results = 200, []
        if q:
            try:
                results = customer_records.search(s, q)
            except ValidationError as exc:
                code = show_error(exc)
        return render_template("customers/search.html", q=q, results=results, limit=customer_records.LIMIT), code


def _render(customer_id: int, code: int = 200, typed: dict | None = None):
    """The record's page; an unknown record raises NotFound, which the app answers with a 404."""
    s = db()
    with s.begin():
        cust = customer_records.get(s, customer_id)
        return render_template("customers/record.html", cust=cust, typed=typed or {}, card=cards.card_of(s, cust),
                               merged_into=customer_records.get(s, cust.merged_into_id) if cust.merged_into_id else None,
                               timeline=customer_records.timeline(s, cust), languages=customer_records.LANGUAGES,
                               survey_channels=customers.SURVEY_CHANNELS,
                               districts=board.district_choices(s, g.actor)), code


@bp.get("/<int:customer_id>")
@role_required(AREAS["customers"])
def record(customer_id: int):
    return _render(customer_id)


@bp.post("/<int:customer_id>")
@role_required(AREAS["customers"])
def update(customer_id: int):
    form = CustomerForm()
    s = db()
    try:
        with s.begin():
            form.checked()
            cust = customer_records.get(s, customer_id)
            changes = customer_records.update_record(
                s, g.actor, cust, form.version.data, name=form.name.data, language=form.language.data,
                notes=form.notes.data, do_not_call=form.do_not_call.data, survey_channel=form.survey_channel.data)
    except HotlineError as exc:
        return _render(customer_id, show_error(exc), form.typed())
    flash(t("customer.saved") if changes else t("customer.unchanged"), "success")
    return redirect(url_for("customers.record", customer_id=customer_id))


@bp.post("/<int:customer_id>/addresses")
@role_required(AREAS["customers"])
def add_address(customer_id: int):
    form = AddressForm()
    s = db()
    try:
        with s.begin():
            form.checked()
            cust = customer_records.get(s, customer_id)
            customer_records.add_address(s, g.actor, cust, form.text.data,
                                         must_exist(s, District, form.district.data, "district"), form.default.data)
    except HotlineError as exc:
        return _render(customer_id, show_error(exc))
    flash(t("customer.address_added"), "success")
    return redirect(url_for("customers.record", customer_id=customer_id))


@bp.post("/<int:customer_id>/merge")
@role_required(AREAS["customers"])
def merge(customer_id: int):
    form = MergeForm()
    s = db()
    try:
        with s.begin():
            form.checked()
            if form.other.data is None:
                raise ValidationError("give the number of the other record of this person (shown on its page)")
            if not form.same_person.data:
                raise ValidationError("tick that both records are the same person before merging")
            customer_records.merge(s, g.actor, customer_id, form.other.data)
    except HotlineError as exc:
        return _render(customer_id, show_error(exc))
    flash(t("customer.merged", other=form.other.data), "success")
    return redirect(url_for("customers.record", customer_id=customer_id))
