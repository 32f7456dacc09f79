"""Who may use which part of the console, and who sees a customer's phone number and address.

Two tables a reader can scan. The server enforces both: views declare their area with
`security.role_required(*AREAS[...])`, and every page that shows an order's contact data
gets it through `contact_of()`. Which work-order moves a role may make is not here: that is
tickets.workflow.MOVES, and the console only offers what `allowed_actions` returns.
"""
from __future__ import annotations

from dataclasses import dataclass

from tickets.actors import Actor
from tickets.models import WorkOrder
from tickets.phones import mask, national

STAFF = frozenset({"agent", "dispatcher", "district_manager", "callback", "supervisor", "admin"})

# Area -> roles allowed in it.
AREAS: dict[str, frozenset[str]] = {
    # Finding and reading orders: every role; a franchisee and a district manager only see
    # their own orders (tickets.search scopes every query and every single order).
    "orders.read": STAFF | {"franchisee"},
    # Booking on behalf of a caller: agents, and the dispatchers and admins who stand in for them.
    # Not supervisors: they monitor and intervene (recall, reassign, rework, complaints); a
    # booking, a new date or a cancellation is an agent's work with the customer.
    "orders.create": frozenset({"agent", "dispatcher", "admin"}),
    # Changing an order: anyone who may read it; tickets.workflow decides the move itself.
    "orders.act": STAFF | {"franchisee"},
    "dispatch": frozenset({"dispatcher", "district_manager", "supervisor", "admin"}),
    "portal": frozenset({"franchisee"}),
    "desk": frozenset({"callback", "supervisor", "admin"}),
    # Complaints (tickets.complaints): agents and callback staff take them and file them by
    # category; a district manager reads those of their districts (escalated to them); the
    # platform (supervisor, admin) decides, compensates and reopens. The franchisee concerned
    # answers in its portal ("portal"), and tickets checks it is the one concerned.
    "complaints.open": frozenset({"agent", "callback", "supervisor", "admin"}),
    "complaints.read": frozenset({"agent", "callback", "district_manager", "supervisor", "admin"}),
    "complaints.decide": frozenset({"supervisor", "admin"}),
    # The callback worklist: callback staff, and the agents who call back between queue calls.
    "callbacks": frozenset({"agent", "callback", "supervisor", "admin"}),
    # A voice complaint's recording: the desk answering it, and the agent whose caller's card shows it.
    "recordings": frozenset({"agent", "callback", "supervisor", "admin"}),
    "admin": frozenset({"admin"}),
    # Statistics (统计报表): each report names its own roles (tickets.reports) and every figure is
    # scoped to the reader (tickets.reports.scope_for); this is who has any report at all.
    "reports": frozenset({"supervisor", "admin", "district_manager", "franchisee", "callback", "agent"}),
    # Customer records (客户档案): read, edit and merge. Agents on the phone, callback staff before
    # a survey call, supervisors handling quality; what each sees of the contact is CONTACT_POLICY.
    "customers": frozenset({"agent", "callback", "supervisor"}),
    # Member cards. Reading a card and its statements: the staff who talk to members.
    "cards.read": frozenset({"agent", "callback", "supervisor", "admin"}),
    # Opening a card, its level, a lost card frozen or replaced, a spend for a member on the
    # phone: the agent's work with the caller.
    "cards.manage": frozenset({"agent", "supervisor", "admin"}),
    # Money in and out without a service (top-up, refund, credit, reversal, closing with the
    # refund, unfreezing): supervisors and admins only, so an agent alone can neither create nor
    # pay out money. No separate cashier role: top-ups are taken at the service hall by the
    # supervisors who already hold the complaint compensations.
    "cards.money": frozenset({"supervisor", "admin"}),
    # Paying a completed order by card: whoever completes it (its franchisee) and the agents.
    "cards.pay": frozenset({"agent", "supervisor", "admin", "franchisee"}),
}


@dataclass(frozen=True)
class ContactRule:
    phone: bool          # full phone number shown
    address: bool        # full street address shown (the district is always shown)
    why: str


# Role -> what of a customer's contact data it sees in full. Everything else is masked
# (138****8000, district + ***). A franchisee sees both, but only on orders dispatched to it
# (see contact_of); it cannot open anyone else's order at all.
CONTACT_POLICY: dict[str, ContactRule] = {
    "agent": ContactRule(True, True, "talks to the caller: confirms the number and address while booking"),
    "dispatcher": ContactRule(True, True, "calls the customer when a franchisee cannot reach them, and reads an "
                                          "address that matched no district to choose one"),
    "district_manager": ContactRule(True, True, "the dispatcher of their own districts, with the same needs"),
    "callback": ContactRule(True, False, "phones the customer for the satisfaction survey; never visits"),
    "supervisor": ContactRule(False, False, "watches figures and quality; contacts customers through an agent"),
    "admin": ContactRule(False, False, "configures the platform; has no need to contact customers"),
    "franchisee": ContactRule(True, True, "does the job at the address; only on orders dispatched to it"),
}
MASKED = ContactRule(False, False, "no need")


@dataclass(frozen=True)
class Contact:
    phone: str
    address: str
    full_phone: bool
    full_address: bool


def rule_for(actor: Actor, order: WorkOrder) -> ContactRule:
    rule = CONTACT_POLICY.get(actor.role, MASKED)
    if actor.role == "franchisee" and (order.franchisee_id is None or order.franchisee_id != actor.franchisee_id):
        return MASKED
    return rule


def contact_of(actor: Actor, order: WorkOrder) -> Contact:
    """The order's phone and address as this actor may see them."""
    rule = rule_for(actor, order)
    district = order.district.name_zh if order.district else ""
    address = order.address_text if rule.address else (f"{district} ***" if order.address_text else "")
    return Contact(phone=national(order.phone) if rule.phone else mask(order.phone), address=address,
                   full_phone=rule.phone, full_address=rule.address)


def phone_for(actor: Actor, phone: str) -> str:
    """A customer's number outside an order (complaint lists): full only for roles that phone customers."""
    if not phone:
        return ""
    rule = CONTACT_POLICY.get(actor.role, MASKED)
    return national(phone) if rule.phone and actor.role != "franchisee" else mask(phone)


def address_for(actor: Actor, text: str, district: str = "") -> str:
    """A customer's address outside an order (the customer page): full only for roles that visit or
    book at it, else the district and ***."""
    if not text:
        return ""
    rule = CONTACT_POLICY.get(actor.role, MASKED)
    return text if rule.address and actor.role != "franchisee" else f"{district} ***".strip()
