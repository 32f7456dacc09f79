"""Administration (admin role): catalog and prices, districts and aliases, franchisees and their
coverage, workers and certificates, users and roles, notices, and the audit trail.

Each write is one call to tickets (catalog, franchisees, accounts, notices), which checks the
input and writes the audit row in the same transaction. Prices are typed in yuan and stored
in fen (tickets.money.parse_yuan: exact, no floats).
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from tickets import accounts, audit, catalog, console_sessions, franchisees, holidays, notices, workflow
from tickets.errors import HotlineError, ValidationError
from tickets.inputs import existing_ids, must_exist, whole_number
from tickets.models import ROLES, District, Franchisee, Service
from tickets.money import parse_yuan
from tickets.pricing import UNIT_NAMES
from tickets.seed import categories

from .app import db, hotline
from .forms import NewUserForm, UserForm
from .i18n import t
from .pages import show_error
from .policy import AREAS, CONTACT_POLICY
from .security import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN = AREAS["admin"]
AUDIT_SHOWN = 100


def _int(name: str, label: str, default: int | None = None) -> int | None:
    return whole_number(request.form.get(name), label, default=default)


def _flag(name: str) -> bool:
    return bool(request.form.get(name))


def _date(name: str, label: str) -> date | None:
    value = request.form.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError("{label} {value!r} is not a date; write YYYY-MM-DD, e.g. 2027-06-30", label=label, value=value) from None


@bp.context_processor
def _calendar_banner() -> dict:
    # On every admin page: the admin is who can fill the gap (see tickets.holidays). Pages
    # render inside the request session's transaction (SQLite allows one writer: no second session).
    s = db()
    if s.in_transaction():
        return {"calendar_warning": holidays.coverage_warning(s)}
    with s.begin():
        return {"calendar_warning": holidays.coverage_warning(s)}


def _write(work, done: str, then: str, render):
    """Run `work(session)` in one transaction; on a refusal re-render the page with the message."""
    s = db()
    try:
        with s.begin():
            work(s)
    except HotlineError as exc:
        return render(show_error(exc))
    flash(done, "success")
    return redirect(then)


# ---------------------------------------------------------------- overview and audit trail

@bp.get("/", endpoint="index")
@role_required(ADMIN)
def index():
    s = db()
    with s.begin():
        return render_template("admin/index.html", audit=audit.recent(s, AUDIT_SHOWN))


@bp.get("/roles")
@role_required(ADMIN)
def roles():
    """The role table as the server enforces it (read-only: it is code, changed by a release)."""
    return render_template("admin/roles.html", roles=ROLES, areas=AREAS, moves=workflow.MOVES.values(),
                           contact=CONTACT_POLICY)


# ---------------------------------------------------------------- services and prices

def _render_services(code: int = 200):
    s = db()
    with s.begin():
        return render_template("admin/services.html", services=catalog.services(s),
                               categories=categories(), units=UNIT_NAMES), code


@bp.get("/services")
@role_required(ADMIN)
def services():
    return _render_services()


@bp.post("/services")
@role_required(ADMIN)
def save_service():
    code = request.form.get("code", "")

    def work(s):
        catalog.save_service(
            s, g.actor, code, menu_digit=_int("menu_digit", "voice-menu key"),
            name_zh=request.form.get("name_zh", ""), name_en=request.form.get("name_en", ""),
            category=request.form.get("category", ""), unit=request.form.get("unit", ""),
            guide_price_fen=parse_yuan(request.form.get("price", ""), "guide price"),
            default_quantity=_int("default_quantity", "usual quantity", 1),
            holiday_pay=_flag("holiday_pay"), emergency=_flag("emergency"), active=_flag("active"))
    return _write(work, t("admin.saved", what=code.upper()), url_for("admin.services"), _render_services)


# ---------------------------------------------------------------- districts and aliases

def _render_districts(code: int = 200):
    s = db()
    with s.begin():
        return render_template("admin/districts.html", districts=catalog.districts(s)), code


@bp.get("/districts")
@role_required(ADMIN)
def districts():
    return _render_districts()


@bp.post("/districts")
@role_required(ADMIN)
def save_district():
    code = request.form.get("code", "")
    return _write(lambda s: catalog.save_district(s, g.actor, code, request.form.get("name_zh", ""),
                                                  request.form.get("name_en", "")),
                  t("admin.saved", what=code), url_for("admin.districts"), _render_districts)


@bp.post("/districts/<int:district_id>/aliases")
@role_required(ADMIN)
def add_alias(district_id: int):
    def work(s):
        district = s.get(District, district_id)
        if district is None:
            abort(404)
        catalog.add_alias(s, g.actor, district, request.form.get("alias", ""))
    return _write(work, t("admin.saved", what=request.form.get("alias", "")), url_for("admin.districts"),
                  _render_districts)


@bp.post("/aliases/<int:alias_id>/remove")
@role_required(ADMIN)
def remove_alias(alias_id: int):
    return _write(lambda s: catalog.remove_alias(s, g.actor, alias_id), t("admin.removed"),
                  url_for("admin.districts"), _render_districts)


# ---------------------------------------------------------------- franchisees, coverage, workers

def _render_franchisees(code: int = 200):
    s = db()
    with s.begin():
        return render_template("admin/franchisees.html", franchisees=franchisees.franchisees(s),
                               statuses=franchisees.STATUSES, default_hours=_default_hours()), code


def _default_hours() -> str:
    """BUSINESS_HOURS as a franchisee's hours are written: what an empty field means."""
    opens, closes = hotline().settings.business_hours
    return f"{opens:%H:%M}-{closes:%H:%M}"


@bp.get("/franchisees")
@role_required(ADMIN)
def franchisee_list():
    return _render_franchisees()


def _franchisee_fields() -> dict:
    return {"name": request.form.get("name", ""), "contact_phone": request.form.get("contact_phone", ""),
            "status": request.form.get("status", "active"),
            "daily_capacity": _int("daily_capacity", "daily capacity", 20),
            "business_hours": request.form.get("business_hours", "")}


@bp.post("/franchisees")
@role_required(ADMIN)
def create_franchisee():
    return _write(lambda s: franchisees.save_franchisee(s, g.actor, None, **_franchisee_fields()),
                  t("admin.saved", what=request.form.get("name", "")), url_for("admin.franchisee_list"),
                  _render_franchisees)


def _render_franchisee(franchisee_id: int, code: int = 200):
    s = db()
    with s.begin():
        fr = franchisees.get_franchisee(s, franchisee_id)
        return render_template(
            "admin/franchisee.html", fr=fr, statuses=franchisees.STATUSES, districts=catalog.districts(s),
            services=catalog.services(s), priorities={d.district_id: d.priority for d in fr.districts},
            service_ids={fs.service_id for fs in fr.services}, workers=franchisees.workers_of(s, fr.id),
            default_hours=_default_hours(), today=hotline().now().date()), code


@bp.get("/franchisees/<int:franchisee_id>")
@role_required(ADMIN)
def franchisee(franchisee_id: int):
    return _render_franchisee(franchisee_id)


@bp.post("/franchisees/<int:franchisee_id>")
@role_required(ADMIN)
def update_franchisee(franchisee_id: int):
    def work(s):
        fr = franchisees.get_franchisee(s, franchisee_id)
        franchisees.save_franchisee(s, g.actor, fr, **_franchisee_fields())
    return _write(work, t("admin.saved", what=request.form.get("name", "")),
                  url_for("admin.franchisee", franchisee_id=franchisee_id),
                  lambda code: _render_franchisee(franchisee_id, code))


@bp.post("/franchisees/<int:franchisee_id>/coverage")
@role_required(ADMIN)
def coverage(franchisee_id: int):
    def work(s):
        fr = franchisees.get_franchisee(s, franchisee_id)
        prios = {}
        for d in catalog.districts(s):
            prio = _int(f"priority_{d.id}", f"priority in {d.name_zh}")
            if prio is not None:
                prios[d.id] = prio
        franchisees.set_coverage(s, g.actor, fr, prios,
                                 existing_ids(s, Service, request.form.getlist("service_ids"), "service"))
    return _write(work, t("admin.coverage_saved"), url_for("admin.franchisee", franchisee_id=franchisee_id),
                  lambda code: _render_franchisee(franchisee_id, code))


def _worker_fields(s, franchisee_id: int) -> dict:
    return {"franchisee_id": franchisee_id, "name": request.form.get("name", ""),
            "phone": request.form.get("phone", ""), "id_verified": _flag("id_verified"),
            "health_cert_expires": _date("health_cert_expires", "health certificate expiry"),
            "training_cert": request.form.get("training_cert", ""),
            "background_checked": _flag("background_checked"), "active": _flag("active"),
            "skill_ids": existing_ids(s, Service, request.form.getlist("skill_ids"), "service")}


@bp.post("/franchisees/<int:franchisee_id>/workers")
@role_required(ADMIN)
def create_worker(franchisee_id: int):
    return _write(lambda s: franchisees.save_worker(s, g.actor, None, **_worker_fields(s, franchisee_id)),
                  t("admin.saved", what=request.form.get("name", "")),
                  url_for("admin.franchisee", franchisee_id=franchisee_id),
                  lambda code: _render_franchisee(franchisee_id, code))


def _render_worker(worker_id: int, code: int = 200):
    s = db()
    with s.begin():
        w = franchisees.get_worker(s, worker_id)
        return render_template("admin/worker.html", w=w, services=catalog.services(s),
                               skill_ids={sk.service_id for sk in w.skills}, today=hotline().now().date()), code


@bp.get("/workers/<int:worker_id>")
@role_required(ADMIN)
def worker(worker_id: int):
    return _render_worker(worker_id)


@bp.post("/workers/<int:worker_id>")
@role_required(ADMIN)
def update_worker(worker_id: int):
    def work(s):
        w = franchisees.get_worker(s, worker_id)
        franchisees.save_worker(s, g.actor, w, **_worker_fields(s, w.franchisee_id))
    return _write(work, t("admin.saved", what=request.form.get("name", "")),
                  url_for("admin.worker", worker_id=worker_id), lambda code: _render_worker(worker_id, code))


# ---------------------------------------------------------------- users and roles

def _render_users(code: int = 200):
    s = db()
    with s.begin():
        return render_template("admin/users.html", users=accounts.list_users(s), roles=ROLES,
                               franchisees=franchisees.franchisees(s), districts=catalog.districts(s)), code


@bp.get("/users")
@role_required(ADMIN)
def users():
    return _render_users()


@bp.post("/users")
@role_required(ADMIN)
def create_user():
    form = NewUserForm()

    def work(s):
        form.checked()
        accounts.create_user(s, g.actor, username=form.username.data, role=form.role.data,
                             password=form.password.data, display_name=form.display_name.data,
                             franchisee_id=must_exist(s, Franchisee, form.franchisee_id.data, "franchisee"),
                             district_ids=[must_exist(s, District, d, "district") for d in form.district_ids.data],
                             phone=form.phone.data)
    return _write(work, t("admin.saved", what=form.username.data), url_for("admin.users"), _render_users)


def _render_user(user_id: int, code: int = 200):
    s = db()
    with s.begin():
        u = accounts.get_user(s, user_id)
        return render_template("admin/user.html", u=u, roles=ROLES, franchisees=franchisees.franchisees(s),
                               districts=catalog.districts(s), sessions=console_sessions.of_user(s, u),
                               now=hotline().now(), is_open=console_sessions.is_open), code


@bp.get("/users/<int:user_id>")
@role_required(ADMIN)
def user(user_id: int):
    return _render_user(user_id)


@bp.post("/users/<int:user_id>")
@role_required(ADMIN)
def update_user(user_id: int):
    form = UserForm()

    def work(s):
        form.checked()
        accounts.update_user(s, g.actor, accounts.get_user(s, user_id), role=form.role.data,
                             display_name=form.display_name.data,
                             franchisee_id=must_exist(s, Franchisee, form.franchisee_id.data, "franchisee"),
                             district_ids=[must_exist(s, District, d, "district") for d in form.district_ids.data],
                             phone=form.new_phone())
    return _write(work, t("admin.saved", what=form.display_name.data), url_for("admin.user", user_id=user_id),
                  lambda code: _render_user(user_id, code))


# The account actions an admin takes on a user's page: form value -> what it does.
USER_ACTIONS = {
    "deactivate": lambda s, u: accounts.set_active(s, g.actor, u, False),
    "activate": lambda s, u: accounts.set_active(s, g.actor, u, True),
    "logout_everywhere": lambda s, u: accounts.logout_everywhere(s, u, g.actor),
    "reset_password": lambda s, u: accounts.reset_password(s, g.actor, u, request.form.get("password", "")),
}


@bp.post("/users/<int:user_id>/account")
@role_required(ADMIN)
def user_account(user_id: int):
    action = request.form.get("action", "")
    if action not in USER_ACTIONS:
        abort(400)
    return _write(lambda s: USER_ACTIONS[action](s, accounts.get_user(s, user_id)),
                  t(f"admin.user_{action}"), url_for("admin.user", user_id=user_id),
                  lambda code: _render_user(user_id, code))


@bp.post("/users/<int:user_id>/sessions/<int:session_id>/end")
@role_required(ADMIN)
def end_session(user_id: int, session_id: int):
    return _write(lambda s: console_sessions.end_one(s, g.actor, accounts.get_user(s, user_id), session_id),
                  t("admin.session_ended"), url_for("admin.user", user_id=user_id),
                  lambda code: _render_user(user_id, code))


# ---------------------------------------------------------------- notices

def _render_notices(code: int = 200):
    s = db()
    with s.begin():
        return render_template("admin/notices.html", notices=notices.recent(s, 50)), code


@bp.get("/notices")
@role_required(ADMIN)
def notice_list():
    return _render_notices()


@bp.post("/notices")
@role_required(ADMIN)
def post_notice():
    return _write(lambda s: notices.post(s, g.actor, request.form.get("title", ""), request.form.get("body", "")),
                  t("admin.notice_posted"), url_for("admin.notice_list"), _render_notices)


# ---------------------------------------------------------------- holiday calendar overrides

def _render_calendar(code: int = 200):
    s = db()
    with s.begin():
        return render_template("admin/calendar.html", overrides=holidays.overrides(s), kinds=holidays.KINDS,
                               names=holidays.HOLIDAY_NAMES), code


@bp.get("/calendar")
@role_required(ADMIN)
def calendar():
    return _render_calendar()


def _day() -> date:
    day = _date("day", t("admin.calendar_day"))
    if day is None:
        raise ValidationError("the day is missing; write YYYY-MM-DD, e.g. 2027-02-06")
    return day


@bp.post("/calendar")
@role_required(ADMIN)
def set_calendar_day():
    return _write(lambda s: holidays.set_override(s, g.actor, _day(), request.form.get("kind", ""),
                                                  request.form.get("name", "")),
                  t("admin.calendar_saved"), url_for("admin.calendar"), _render_calendar)


@bp.post("/calendar/<day>/remove")
@role_required(ADMIN)
def remove_calendar_day(day: str):
    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    return _write(lambda s: holidays.remove_override(s, g.actor, when),
                  t("admin.calendar_removed"), url_for("admin.calendar"), _render_calendar)
