"""Administration through the console: every write lands in the audit trail with its user."""
from __future__ import annotations

from sqlalchemy import select

from tests.console.conftest import Console, text
from tickets.dispatch import resolve_district
from tickets.models import AuditLog, ConsoleSession, District, Franchisee, Notice, Service, User, Worker


def _audit(hl, action: str) -> AuditLog:
    with hl.session() as s:
        return s.scalar(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id.desc()))


SERVICE_FORM = {"code": "BJ", "name_zh": "家庭保洁", "name_en": "Home cleaning", "category": "cleaning",
                "unit": "hour", "default_quantity": "3", "holiday_pay": "1", "active": "1"}


def test_a_price_typed_in_yuan_is_stored_in_fen_and_audited(login, hl):
    resp = login("admin").post("/admin/services", {**SERVICE_FORM, "price": "45.50"})
    assert resp.status_code == 302
    with hl.session() as s:
        assert s.scalar(select(Service.guide_price_fen).where(Service.code == "BJ")) == 4550
    row = _audit(hl, "service.update")
    assert row.actor_label == "admin"
    assert row.data["guide_price_fen"] == [4000, 4550]


def test_a_malformed_price_keeps_the_old_one_and_says_the_format(login, hl):
    resp = login("admin").post("/admin/services", {**SERVICE_FORM, "price": "45,5"})
    assert resp.status_code == 400
    assert "例如 120 或 120.50" in text(resp)
    with hl.session() as s:
        assert s.scalar(select(Service.guide_price_fen).where(Service.code == "BJ")) == 4000


def test_a_new_service_gets_the_next_free_voice_menu_key(login, hl):
    login("admin").post("/admin/services", {"code": "CWX", "name_zh": "宠物洗护", "name_en": "Pet grooming",
                                            "category": "other", "unit": "visit", "price": "80",
                                            "default_quantity": "1", "active": "1"})
    with hl.session() as s:
        svc = s.scalar(select(Service).where(Service.code == "CWX"))
        taken = s.scalars(select(Service.menu_digit).where(Service.category == "other", Service.id != svc.id)).all()
        assert svc.guide_price_fen == 8000
        assert svc.menu_digit not in taken


def test_an_alias_added_by_the_admin_places_addresses_in_its_district(login, hl):
    with hl.session() as s:
        district = s.scalar(select(District).where(District.name_zh == "米东区"))
    assert login("admin").post(f"/admin/districts/{district.id}/aliases", {"alias": "卡子湾新村"}).status_code == 302
    with hl.session() as s:
        assert resolve_district(s, "卡子湾新村8号").district.name_zh == "米东区"
    assert _audit(hl, "district.alias_add").data == {"alias": "卡子湾新村"}


def test_an_alias_already_used_elsewhere_is_refused(login, hl):
    with hl.session() as s:
        mid, tian = (s.scalar(select(District).where(District.name_zh == n)) for n in ("米东区", "天山区"))
    admin = login("admin")
    admin.post(f"/admin/districts/{mid.id}/aliases", {"alias": "卡子湾新村"})
    resp = admin.post(f"/admin/districts/{tian.id}/aliases", {"alias": "卡子湾新村"})
    assert resp.status_code == 400
    assert "已指向 米东区" in text(resp)


def test_a_franchisees_coverage_is_replaced_and_audited(login, hl):
    with hl.session() as s:
        fr = s.scalar(select(Franchisee).where(Franchisee.name == "米东县域便民服务"))
        xinshi = s.scalar(select(District).where(District.name_zh == "新市区"))
        bj = s.scalar(select(Service).where(Service.code == "BJ"))
    login("admin").post(f"/admin/franchisees/{fr.id}/coverage", {f"priority_{xinshi.id}": "2",
                                                                  "service_ids": [str(bj.id)]})
    with hl.session() as s:
        fr = s.get(Franchisee, fr.id)
        assert [(d.district_id, d.priority) for d in fr.districts] == [(xinshi.id, 2)]
        assert [x.service_id for x in fr.services] == [bj.id]
    assert _audit(hl, "franchisee.coverage").actor_label == "admin"


def test_a_franchisees_working_hours_are_saved_and_bad_ones_refused_with_the_format(login, hl):
    with hl.session() as s:
        fr = s.scalar(select(Franchisee).where(Franchisee.name == "米东县域便民服务"))
    form = {"name": fr.name, "contact_phone": "", "status": "active", "daily_capacity": "20"}
    admin = login("admin")
    assert 'name="business_hours" placeholder="08:00-20:00"' in text(admin.get(f"/admin/franchisees/{fr.id}"))
    bad = admin.post(f"/admin/franchisees/{fr.id}", {**form, "business_hours": "9点到6点"})
    assert bad.status_code == 400
    assert "格式应为 HH:MM-HH:MM（本地时间），例如 08:00-20:00" in text(bad)
    assert admin.post(f"/admin/franchisees/{fr.id}", {**form, "business_hours": "09:00-18:00"}).status_code == 302
    with hl.session() as s:
        assert s.get(Franchisee, fr.id).business_hours == "09:00-18:00"
    assert _audit(hl, "franchisee.update").data["after"]["business_hours"] == "09:00-18:00"


def test_a_workers_certificate_date_is_saved(login, hl):
    with hl.session() as s:
        w = s.scalar(select(Worker).where(Worker.name == "阿依古丽"))
    login("admin").post(f"/admin/workers/{w.id}", {"name": "阿依古丽", "health_cert_expires": "2027-11-30",
                                                    "active": "1", "id_verified": "1"})
    with hl.session() as s:
        assert s.get(Worker, w.id).health_cert_expires.isoformat() == "2027-11-30"
    assert _audit(hl, "worker.update").data["after"]["health_cert_expires"] == "2027-11-30"


def test_a_created_user_can_log_in_with_the_role_given(login, hl, app):
    login("admin").post("/admin/users", {"username": "agent9", "display_name": "坐席 九", "role": "agent",
                                         "password": "a-long-password"})
    assert Console(app).login("agent9", "a-long-password").status_code == 302
    assert _audit(hl, "user.create").data["role"] == "agent"


def test_a_short_password_is_refused(login):
    resp = login("admin").post("/admin/users", {"username": "agent9", "role": "agent", "password": "short"})
    assert resp.status_code == 400
    assert "密码至少需要 10 个字符" in text(resp)


def test_a_franchisee_user_needs_its_franchisee(login):
    resp = login("admin").post("/admin/users", {"username": "fr9", "role": "franchisee", "password": "a-long-password"})
    assert resp.status_code == 400
    assert "需要选择其所属的加盟商" in text(resp)


def test_a_franchisee_that_is_not_a_number_is_refused_with_what_was_sent(login):
    resp = login("admin").post("/admin/users", {"username": "fr9", "role": "franchisee", "password": "a-long-password",
                                                "franchisee_id": "天山"})
    assert resp.status_code == 400
    assert "franchisee must be a whole number" in text(resp)
    assert "got &#39;天山&#39;" in text(resp)


def test_a_district_manager_gets_the_ticked_districts(login, hl):
    with hl.session() as s:
        ids = sorted(s.scalars(select(District.id)).all())[:2]
    login("admin").post("/admin/users", {"username": "manager9", "role": "district_manager",
                                         "password": "a-long-password", "district_ids": [str(i) for i in ids]})
    assert _audit(hl, "user.create").data["district_ids"] == ids


def _user_id(hl, username: str) -> int:
    with hl.session() as s:
        return s.scalar(select(User.id).where(User.username == username))


def test_deactivating_a_user_ends_their_session_and_their_log_ins(login, hl, app):
    agent = login("agent2")
    login("admin").post(f"/admin/users/{_user_id(hl, 'agent2')}/account", {"action": "deactivate"})
    assert agent.get("/orders/").status_code == 302
    assert Console(app).login("agent2").status_code == 403


def test_an_admin_can_log_a_user_out_everywhere(login, hl):
    agent = login("agent2")
    login("admin").post(f"/admin/users/{_user_id(hl, 'agent2')}/account", {"action": "logout_everywhere"})
    assert agent.get("/orders/").status_code == 302
    assert _audit(hl, "user.logout_everywhere").actor_label == "admin"


def test_a_reset_password_replaces_the_old_one_and_is_not_written_to_the_audit(login, hl, app):
    login("admin").post(f"/admin/users/{_user_id(hl, 'agent2')}/account",
                        {"action": "reset_password", "password": "brand-new-secret"})
    assert Console(app).login("agent2", "demo").status_code == 401
    assert Console(app).login("agent2", "brand-new-secret").status_code == 302
    assert "brand-new-secret" not in str(_audit(hl, "user.reset_password").data)


def test_an_admin_sees_a_users_sessions_and_ends_one_of_them(login, hl, app):
    desk, laptop = login("agent2", "10.0.0.5"), login("agent2", "10.0.0.6")
    admin = login("admin")
    uid = _user_id(hl, "agent2")
    page = text(admin.get(f"/admin/users/{uid}"))
    assert "10.0.0.5" in page and "10.0.0.6" in page
    with hl.session() as s:
        laptop_session = s.scalar(select(ConsoleSession.id).where(ConsoleSession.user_id == uid,
                                                                  ConsoleSession.remote_addr == "10.0.0.6"))
    resp = admin.post(f"/admin/users/{uid}/sessions/{laptop_session}/end")
    assert resp.status_code == 302
    assert laptop.get("/orders/").status_code == 302     # sent to the log-in page
    assert desk.get("/orders/").status_code == 200
    assert _audit(hl, "session.end").data["remote_addr"] == "10.0.0.6"


def test_ending_a_session_of_another_user_is_refused(login, hl):
    login("agent1")
    with hl.session() as s:
        other = s.scalar(select(ConsoleSession.id).join(User).where(User.username == "agent1"))
    resp = login("admin").post(f"/admin/users/{_user_id(hl, 'agent2')}/sessions/{other}/end")
    assert resp.status_code == 404
    assert "请刷新页面后重新选择" in text(resp)


def test_an_admin_cannot_deactivate_themself(login, hl):
    resp = login("admin").post(f"/admin/users/{_user_id(hl, 'admin')}/account", {"action": "deactivate"})
    assert resp.status_code == 400
    assert "请让另一位管理员操作" in text(resp)


def test_changing_a_users_role_ends_their_sessions(login, hl):
    agent = login("agent2")
    login("admin").post(f"/admin/users/{_user_id(hl, 'agent2')}", {"role": "callback", "display_name": "小李"})
    assert agent.get("/orders/").status_code == 302


def test_a_posted_notice_is_stored_and_audited(login, hl):
    login("admin").post("/admin/notices", {"title": "国庆接单安排", "body": "10月1日至7日节假日价格翻倍"})
    with hl.session() as s:
        assert s.scalar(select(Notice.title)) == "国庆接单安排"
    assert _audit(hl, "notice.post").actor_label == "admin"


def test_the_audit_trail_page_lists_writes_with_who(login):
    admin = login("admin")
    admin.post("/admin/notices", {"title": "测试公告"})
    page = text(admin.get("/admin/"))
    assert "notice.post" in page
    assert "admin" in page


def test_admin_pages_warn_while_the_next_60_days_are_not_covered_by_the_calendar(login):
    # The fixed clock is 2026-11-23; chinese-calendar 1.11.0 stops at 2026-12-31.
    page = text(login("admin").get("/admin/"))
    assert 'id="calendar-warning"' in page and "does not cover 2027-01-01" in page


def test_an_entered_2027_holiday_is_priced_audited_and_ends_the_warning(login, hl):
    from datetime import datetime
    from tests.core.helpers import AGENT
    from tickets import orders
    from tickets.timeutil import to_utc
    admin = login("admin")
    resp = admin.post("/admin/calendar", {"day": "2027-01-01", "kind": "holiday", "name": "元旦"})
    assert resp.status_code == 302
    assert _audit(hl, "calendar.set").data == {"kind": "holiday", "name": "元旦", "old": None}
    page = text(admin.get("/admin/calendar"))
    assert 'data-testid="calendar-2027-01-01"' in page and 'id="calendar-warning"' not in page
    with hl.session() as s, s.begin():
        order = orders.book(s, phone="13800138000", service="BJ", actor=AGENT,
                            start=to_utc(datetime(2027, 1, 1, 9, 0), hl.tz))
        assert [line.kind for line in order.price_lines] == ["base", "holiday"]


def test_a_calendar_day_with_a_wrong_kind_is_refused_with_the_choices(login, hl):
    resp = login("admin").post("/admin/calendar", {"day": "2027-01-01", "kind": "party", "name": "元旦"})
    assert resp.status_code == 400
    assert "类型必须是 holiday, day_off, workday 之一" in text(resp)


def test_the_role_table_page_shows_what_the_server_enforces(login):
    import re
    page = text(login("admin").get("/admin/roles"))

    def allowed(row: str) -> set[str]:
        found = re.search(rf'data-testid="{row}">(.*?)</tr>', page, re.S)
        assert found, row
        return set(re.findall(r'data-role="(\w+)">✓<', found.group(1)))
    assert allowed("area-orders.create") == {"agent", "dispatcher", "admin"}
    assert "supervisor" not in allowed("move-reschedule") | allowed("move-cancel")
    assert "supervisor" in allowed("move-recall") & allowed("area-dispatch") & allowed("area-desk")


def test_a_supervisor_monitors_and_intervenes_but_does_not_book(login):
    supervisor = login("supervisor1")
    assert supervisor.get("/orders/new").status_code == 403
    assert supervisor.get("/dispatch/").status_code == 200
    assert supervisor.get("/desk/complaints").status_code == 200


# ---------------------------------------------------------------- a user's mobile (escalation SMS)

MANAGER_FORM = {"role": "district_manager", "display_name": "片区经理 周", "district_ids": ["1"]}


def _phone(hl, username: str) -> str:
    with hl.session() as s:
        return s.scalar(select(User.phone).where(User.username == username))


def test_an_admin_sets_a_users_mobile_which_is_stored_normalised_and_shown_masked(login, hl):
    admin = login("admin")
    uid = _user_id(hl, "manager1")
    resp = admin.post(f"/admin/users/{uid}", {**MANAGER_FORM, "phone": "139 9930 0009"})
    assert resp.status_code == 302
    assert _phone(hl, "manager1") == "+8613999300009"
    page = text(admin.get(f"/admin/users/{uid}"))
    assert "139****0009" in page and "13999300009" not in page
    assert "139****0009" in text(admin.get("/admin/users"))
    data = _audit(hl, "user.update").data
    assert (data["before"]["phone"], data["after"]["phone"]) == ("139****0001", "139****0009")


def test_a_users_mobile_that_is_not_a_phone_number_is_refused_and_the_old_one_kept(login, hl):
    resp = login("admin").post(f"/admin/users/{_user_id(hl, 'manager1')}", {**MANAGER_FORM, "phone": "12345"})
    assert resp.status_code == 400
    assert "“12345”不是有效的电话号码" in text(resp)
    assert _phone(hl, "manager1") == "+8613999300001"


def test_an_empty_mobile_keeps_the_number_and_remove_clears_it(login, hl):
    admin, uid = login("admin"), _user_id(hl, "manager1")
    admin.post(f"/admin/users/{uid}", MANAGER_FORM)
    assert _phone(hl, "manager1") == "+8613999300001"
    admin.post(f"/admin/users/{uid}", {**MANAGER_FORM, "clear_phone": "1"})
    assert _phone(hl, "manager1") == ""


def test_a_new_user_is_created_with_a_mobile(login, hl):
    login("admin").post("/admin/users", {"username": "manager9", "role": "district_manager", "password": "a-long-password",
                                         "phone": "13999300019"})
    assert _phone(hl, "manager9") == "+8613999300019"


def test_only_an_admin_may_change_a_users_mobile(login, hl):
    resp = login("supervisor1").post(f"/admin/users/{_user_id(hl, 'manager1')}", {**MANAGER_FORM, "phone": "13999300009"})
    assert resp.status_code == 403
    assert _phone(hl, "manager1") == "+8613999300001"
