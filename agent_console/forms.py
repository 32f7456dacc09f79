"""The console's posted forms as Flask-WTF classes: each names its fields and how they are read
(text, whole numbers, ticked boxes, lists of ticked ids), and a value that cannot be read gets a
message naming the field and what to write.

The business rules stay in tickets (a user name's format, a role's franchisee, a password's
length, a booking's phone and time), so every channel refuses the same input with the same
words; a form turns the posted text into typed values. The field names are the ones the
templates, the page scripts and the browser tests post.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, StringField

from tickets.errors import ValidationError
from tickets.inputs import whole_number
from tickets.money import parse_yuan


def stripped(value):
    return value.strip() if isinstance(value, str) else value


class WholeNumber(Field):
    """An optional whole number (empty: None), read by tickets.inputs.whole_number: anything else
    is refused with the field's label, the value sent and a good one."""

    def process_formdata(self, valuelist):
        self.data = None
        try:
            self.data = whole_number(valuelist[0] if valuelist else "", self.label.text)
        except ValidationError as exc:
            raise ValueError(str(exc)) from None


class IdList(Field):
    """The ids of ticked checkboxes sharing one name, each read by tickets.inputs.whole_number."""

    def process_formdata(self, valuelist):
        self.data = []
        try:
            self.data = sorted({whole_number(v, self.label.text, minimum=1) for v in valuelist if v.strip()})
        except ValidationError as exc:
            raise ValueError(str(exc)) from None


class PostedForm(FlaskForm):
    """A console form read from the request (CSRF included: the same token CSRFProtect checks)."""

    def checked(self) -> PostedForm:
        """This form when every field could be read; else a ValidationError with the first message,
        which the views show like any refusal from tickets (400, the page again)."""
        if not self.validate():
            raise ValidationError(next(msg for errors in self.errors.values() for msg in errors))
        return self

    def typed(self) -> dict[str, str]:
        """Every field as the user typed it, to put back into the page when it is shown again."""
        return {name: field.data if isinstance(field.data, str) else (field.raw_data[0] if field.raw_data else "")
                for name, field in self._fields.items() if name != "csrf_token"}


# ---------------------------------------------------------------- users (admin)

class UserForm(PostedForm):
    """An admin's change to a user: role, shown name, franchisee (franchisee role), districts
    (district managers) and mobile for escalation SMS: the page shows the number masked, so an
    empty `phone` keeps it and `clear_phone` removes it."""
    role = StringField(default="")
    display_name = StringField(default="")
    franchisee_id = WholeNumber("franchisee")
    district_ids = IdList("district", default=[])
    phone = StringField(default="", filters=[stripped])
    clear_phone = BooleanField()

    def new_phone(self) -> str | None:
        """What tickets.accounts.update_user takes: None keeps the number, "" removes it."""
        return "" if self.clear_phone.data else (self.phone.data or None)


class NewUserForm(UserForm):
    """A new console user: the user name and first password besides what an edit changes."""
    username = StringField(default="")
    password = StringField(default="")


# ---------------------------------------------------------------- work orders

class NewOrderForm(PostedForm):
    """The work-order form (agents, dispatchers), also opened prefilled from a caller's card."""
    phone = StringField(default="", filters=[stripped])
    name = StringField(default="", filters=[stripped])
    address = StringField(default="", filters=[stripped])
    district = WholeNumber("district")
    service = StringField(default="", filters=[stripped])
    when = StringField(default="", filters=[stripped])
    quantity = WholeNumber("quantity")
    notes = StringField(default="", filters=[stripped])
    urgent = BooleanField()
    # Unticked: the order waits on the dispatch board for a dispatcher to choose.
    dispatch_now = BooleanField()
    # Ticked after the page said the same phone already has this service at this time.
    allow_duplicate = BooleanField()
    call_id = WholeNumber("call")


# ---------------------------------------------------------------- complaints

class YuanAmount(Field):
    """An optional amount of money typed in yuan (empty: 0 fen), read by tickets.money.parse_yuan."""

    def process_formdata(self, valuelist):
        self.data = 0
        raw = valuelist[0].strip() if valuelist else ""
        try:
            self.data = parse_yuan(raw, self.label.text) if raw else 0
        except ValidationError as exc:
            raise ValueError(str(exc)) from None


# ---------------------------------------------------------------- member cards

class Yuan(Field):
    """A money amount typed in yuan ("120", "120.50"), read by tickets.money.parse_yuan into fen:
    anything else (letters, a minus sign, three decimals) is refused with the field's label."""

    def process_formdata(self, valuelist):
        self.data = None
        try:
            self.data = parse_yuan(valuelist[0] if valuelist else "", self.label.text)
        except ValidationError as exc:
            raise ValueError(str(exc)) from None


class NewComplaintForm(PostedForm):
    """A complaint taken by an agent or the desk: about an order (its number) or a phone number."""
    number = StringField(default="", filters=[stripped])
    phone = StringField(default="", filters=[stripped])
    category = StringField(default="other", filters=[stripped])
    text = StringField(default="", filters=[stripped])


class ComplaintCategoryForm(PostedForm):
    category = StringField(default="", filters=[stripped])


class ComplaintDecisionForm(PostedForm):
    """The platform's decision: the answer to the complainant and an optional compensation."""
    answer = StringField(default="", filters=[stripped])
    compensation_kind = StringField(default="", filters=[stripped])
    compensation = YuanAmount("compensation")


class ComplaintReopenForm(PostedForm):
    reason = StringField(default="", filters=[stripped])


class ComplaintAccountForm(PostedForm):
    """The franchisee's account of what happened."""
    account = StringField(default="", filters=[stripped])
# ---------------------------------------------------------------- callbacks

class CallbackCallForm(PostedForm):
    """Click-to-call of one callback request (the CSRF token is all it carries)."""


class CallbackOutcomeForm(PostedForm):
    """How a callback went: one of tickets.outbound.CALLBACK_OUTCOMES, and the agent's notes."""
    outcome = StringField(default="", filters=[stripped])
    notes = StringField(default="", filters=[stripped])
class CardMoneyForm(PostedForm):
    """Top-up, spend, refund or credit: the amount, why, and the request's idempotency key
    (made when the page was drawn, so a double click pays once)."""
    amount = Yuan("amount")
    reason = StringField(default="", filters=[stripped])
    order = StringField(default="", filters=[stripped])
    key = StringField(default="", filters=[stripped])


class CardActionForm(PostedForm):
    """Freeze, unfreeze, replace, close, reverse a row, change the level."""
    reason = StringField(default="", filters=[stripped])
    level = StringField(default="", filters=[stripped])
    entry = WholeNumber("ledger row")
    key = StringField(default="", filters=[stripped])


class OpenCardForm(PostedForm):
    phone = StringField(default="", filters=[stripped])
    name = StringField(default="", filters=[stripped])
    level = StringField(default="standard", filters=[stripped])
