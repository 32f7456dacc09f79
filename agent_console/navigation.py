"""The header's navigation and each role's home page, as data.

An entry whose endpoint is not registered (an area not installed) is skipped, so the table
can name every area of the console.
"""
from __future__ import annotations

from dataclasses import dataclass

from .policy import AREAS


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str             # i18n key
    roles: frozenset[str]
    accesskey: str = ""


NAV: tuple[NavItem, ...] = (
    NavItem("workspace.index", "nav.workspace", frozenset({"agent"}), "w"),
    NavItem("orders.search", "nav.orders", AREAS["orders.read"] - {"franchisee"}, "o"),
    NavItem("orders.new", "nav.new_order", AREAS["orders.create"], "n"),
    NavItem("customers.search", "nav.customers", AREAS["customers"], "u"),
    NavItem("dispatch.board", "nav.dispatch", AREAS["dispatch"], "d"),
    NavItem("dispatch.overdue", "nav.overdue", AREAS["dispatch"], "l"),
    NavItem("portal.orders", "nav.portal", AREAS["portal"], "o"),
    NavItem("portal.figures", "nav.portal_figures", AREAS["portal"], "f"),
    NavItem("portal.notices", "nav.notices", AREAS["portal"], "i"),
    NavItem("desk.surveys", "nav.desk", AREAS["desk"], "b"),
    NavItem("desk.complaints", "nav.complaints", AREAS["complaints.read"], "c"),
    NavItem("complaints.closed", "nav.closed_complaints", AREAS["complaints.read"]),
    NavItem("portal_complaints.list", "nav.portal_complaints", AREAS["portal"], "c"),
    NavItem("callbacks.worklist", "nav.callbacks", AREAS["callbacks"], "k"),
    NavItem("cards.index", "nav.cards", AREAS["cards.read"], "y"),
    NavItem("wallboard.index", "nav.wallboard", frozenset({"supervisor", "admin"}), "m"),
    NavItem("reports.index", "nav.reports", AREAS["reports"], "r"),
    NavItem("admin.index", "nav.admin", AREAS["admin"], "a"),
)

# Role -> endpoints to land on after log-in, first registered one wins.
HOME: dict[str, tuple[str, ...]] = {
    "agent": ("workspace.index", "orders.new"),
    "dispatcher": ("dispatch.board",),
    "district_manager": ("dispatch.board",),
    "callback": ("desk.surveys",),
    "supervisor": ("wallboard.index", "orders.search"),
    "admin": ("admin.index",),
    "franchisee": ("portal.orders",),
}
