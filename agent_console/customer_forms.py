"""Forms of the customer records (staff) and of the residents' public pages (lookup, booking),
in the style of forms.py: each names its fields and how they are read; what a value means is
tickets' (customer_records, selfservice)."""
from __future__ import annotations

from datetime import date

from wtforms import BooleanField, Field, StringField

from tickets.errors import ValidationError
from tickets.selfservice import BookingRequest

from .forms import PostedForm, WholeNumber, stripped


class Day(Field):
    """An optional local calendar day typed as YYYY-MM-DD (a date input); anything else is refused
    with the value sent and a good one."""

    def process_formdata(self, valuelist):
        self.data = None
        raw = (valuelist[0] if valuelist else "").strip()
        if raw:
            try:
                self.data = date.fromisoformat(raw)
            except ValueError:
                raise ValueError(f"{self.label.text} {raw[:20]!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-01") from None


# ---------------------------------------------------------------- customer records (staff)

class CustomerForm(PostedForm):
    """An edit of a record; `version` is the one the page showed (a save in between is refused)."""
    name = StringField(default="", filters=[stripped])
    language = StringField(default="", filters=[stripped])
    notes = StringField(default="", filters=[stripped])
    do_not_call = BooleanField()
    survey_channel = StringField(default="", filters=[stripped])
    version = WholeNumber("version")


class AddressForm(PostedForm):
    text = StringField(default="", filters=[stripped])
    district = WholeNumber("district")
    default = BooleanField()


class MergeForm(PostedForm):
    """Merge record `other` into the page's record, once the user ticked that they are one person."""
    other = WholeNumber("record")
    same_person = BooleanField()


# ---------------------------------------------------------------- public pages (residents)

class LookupForm(PostedForm):
    number = StringField(default="", filters=[stripped])


class CodeForm(LookupForm):
    code = StringField(default="", filters=[stripped])


class ChangeForm(PostedForm):
    """A customer's change of their order: reschedule (day and slot) or cancel; `confirmed` after
    the page showed the penalty."""
    action = StringField(default="", filters=[stripped])
    day = Day("day")
    slot = StringField(default="", filters=[stripped])
    confirmed = BooleanField()


class BookingForm(PostedForm):
    service = StringField(default="", filters=[stripped])
    day = Day("day")
    slot = StringField(default="", filters=[stripped])
    quantity = WholeNumber("quantity")
    address = StringField(default="", filters=[stripped])
    name = StringField(default="", filters=[stripped])
    phone = StringField(default="", filters=[stripped])
    code = StringField(default="", filters=[stripped])

    def request(self) -> BookingRequest:
        """The typed booking (after `checked()`)."""
        if not self.phone.data:
            raise ValidationError("write the mobile number the code goes to, e.g. 13800138000")
        return BookingRequest(service=self.service.data, day=self.day.data, slot=self.slot.data,
                              address=self.address.data, phone=self.phone.data, name=self.name.data,
                              quantity=self.quantity.data)
