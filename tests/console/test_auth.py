"""Log-in, sessions, throttling, log-out everywhere, CSRF and the webhook exemption."""
from __future__ import annotations

from sqlalchemy import select

from agent_console.app import create_app
from tests.conftest import make_test_hotline
from tests.console.conftest import Console, text
from tickets.accounts import ADDRESS_FAILURE_LIMIT
from tickets.models import AuditLog, LoginAttempt, User


def logged_in(c: Console) -> bool:
    return c.get("/orders/").status_code == 200


def test_pages_need_a_login_and_send_the_browser_to_the_login_page(console):
    resp = console.get("/orders/?status=open")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login?next=/orders/?status%3Dopen"


def test_script_requests_without_a_login_get_401_json(console):
    resp = console.get("/orders/", headers={"Accept": "application/json"})
    assert resp.status_code == 401
    assert resp.get_json()["login"] == "/login"


def test_right_password_logs_in_and_lands_on_the_roles_home(console):
    resp = console.login("dispatcher1")
    assert resp.status_code == 302
    page = console.get("/", follow_redirects=True)
    assert 'data-role="dispatcher"' in text(page)


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(console):
    resp = console.login("agent1", "wrong")
    assert resp.status_code == 401
    assert "用户名或密码错误" in text(resp)
    unknown = console.login("nobody", "wrong")
    assert unknown.status_code == 401
    assert "用户名或密码错误" in text(unknown)


def test_login_redirects_only_to_paths_on_this_site(console):
    console.token()
    resp = console.post("/login", {"username": "agent1", "password": "demo", "next": "https://evil.example/"})
    assert resp.headers["Location"] != "https://evil.example/"
    assert resp.headers["Location"].startswith("/")


def test_five_failures_for_a_username_lock_it_with_the_time_it_opens_again(console, clock):
    for _ in range(5):
        assert console.login("agent1", "wrong").status_code == 401
    locked = console.login("agent1", "demo")
    assert locked.status_code == 429
    # 02:00 UTC + 15 minutes, shown in Asia/Shanghai
    assert "10:15" in text(locked)


def test_a_lock_ends_fifteen_minutes_after_the_last_failure(console, clock):
    for _ in range(5):
        console.login("agent1", "wrong")
    clock.advance(minutes=14)
    assert console.login("agent1", "demo").status_code == 429
    clock.advance(minutes=2)
    assert console.login("agent1", "demo").status_code == 302


def test_attempts_while_locked_are_not_counted_so_the_lock_does_not_grow(console, clock, hl):
    for _ in range(5):
        console.login("agent1", "wrong")
    clock.advance(minutes=5)
    console.login("agent1", "wrong")
    with hl.session() as s:
        assert len(s.scalars(select(LoginAttempt).where(LoginAttempt.username == "agent1")).all()) == 5
    clock.advance(minutes=11)
    assert console.login("agent1", "demo").status_code == 302


def test_failures_spread_over_more_than_the_window_do_not_lock(console, clock):
    for _ in range(5):
        console.login("agent1", "wrong")
        clock.advance(minutes=4)
    assert console.login("agent1", "demo").status_code == 302


def test_twenty_failures_from_one_address_lock_every_username_from_it(app):
    attacker = Console(app, "10.9.9.9")
    for n in range(ADDRESS_FAILURE_LIMIT):
        attacker.login(f"guess{n}", "guess")
    assert attacker.login("agent1", "demo").status_code == 429
    assert Console(app, "10.1.1.1").login("agent1", "demo").status_code == 302


def test_a_success_starts_the_users_count_again(console):
    for _ in range(4):
        console.login("agent1", "wrong")
    assert console.login("agent1", "demo").status_code == 302
    console.logout()
    console.login("agent1", "wrong")
    assert console.login("agent1", "demo").status_code == 302


def test_logout_ends_the_session(login):
    c = login("agent1")
    c.logout()
    assert not logged_in(c)


def test_logout_everywhere_ends_the_sessions_on_other_devices(login, hl):
    desk, phone = login("agent1"), login("agent1")
    assert logged_in(phone)
    desk.post("/logout/everywhere")
    resp = phone.get("/orders/", follow_redirects=True)
    assert "会话已结束" in text(resp)
    with hl.session() as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "user.logout_everywhere")) is not None


def test_a_deactivated_users_open_session_ends(login, hl):
    c = login("agent2")
    with hl.session() as s, s.begin():
        s.scalar(select(User).where(User.username == "agent2")).active = False
    assert not logged_in(c)


def test_demo_accounts_are_refused_outside_demo_mode(tmp_path, clock):
    h = make_test_hotline(f"sqlite:///{tmp_path}/prod.db", clock=clock, HOTLINE_DEMO="0")
    try:
        c = Console(create_app(h, {"TESTING": True}))
        assert c.login("admin", "demo").status_code == 401
    finally:
        h.close()


def test_a_post_without_csrf_token_is_refused(login):
    c = login("agent1")
    resp = c.post_without_token("/logout")
    assert resp.status_code == 400
    assert "安全令牌" in text(resp)
    assert logged_in(c)      # nothing happened


def test_the_login_form_itself_needs_the_csrf_token(console):
    assert console.post_without_token("/login", {"username": "agent1", "password": "demo"}).status_code == 400


def test_script_posts_pass_csrf_with_the_header(login):
    c = login("agent1")
    resp = c.client.post("/logout", headers={"X-CSRFToken": c.token()})
    assert resp.status_code == 302


def test_webhook_blueprints_need_neither_login_nor_csrf(console):
    # No session and no CSRF token: the gate lets provider webhooks through to their own check,
    # Twilio's signature (403 here, as these are unsigned), instead of a log-in redirect or a CSRF 400.
    for url in ("/twilio/sms/status", "/twilio/voice/status", "/twilio/agent/voice"):
        resp = console.post_without_token(url, {"CallSid": "CA1", "MessageSid": "SM1"})
        assert resp.status_code == 403, url
        assert "not signed by Twilio" in text(resp), url


def test_error_pages_answer_a_script_in_json(login):
    c = login("agent1")
    resp = c.get("/no-such-page", headers={"X-Requested-With": "XMLHttpRequest"})
    assert resp.status_code == 404
    assert "error" in resp.get_json()


def test_session_cookie_is_httponly_and_samesite(console):
    resp = console.login("agent1")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_behind_https(tmp_path, clock):
    h = make_test_hotline(f"sqlite:///{tmp_path}/https.db", clock=clock, PUBLIC_BASE_URL="https://hotline.example.cn")
    try:
        c = Console(create_app(h, {"TESTING": True}))
        assert "Secure" in c.login("agent1").headers["Set-Cookie"]
    finally:
        h.close()


def test_language_switch_shows_english_and_chinese_is_the_default(login):
    c = login("agent1")
    assert "退出" in text(c.get("/orders/"))
    c.post("/language", {"lang": "en", "next": "/orders/"})
    assert "Log out" in text(c.get("/orders/"))


def test_pages_cannot_be_framed_by_other_sites(console):
    resp = console.get("/login")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
