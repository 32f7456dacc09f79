"""Log-in, sessions, throttling, log-out everywhere, CSRF and the webhook exemption."""
from __future__ import annotations

from sqlalchemy import select

from agent_console import app as app_module
from agent_console.app import create_app
from tests.conftest import make_test_hotline
from tests.console.conftest import Console, text
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


def test_five_failures_from_one_address_delay_that_user_there_and_say_until_when(console, clock):
    for _ in range(5):
        assert console.login("agent1", "wrong").status_code == 401
    locked = console.login("agent1", "demo")
    assert locked.status_code == 429
    # 02:00 UTC + 30 s, shown in Asia/Shanghai
    assert "10:00:30" in text(locked)


def test_each_failure_past_the_allowance_doubles_the_delay(console, clock):
    for _ in range(5):
        console.login("agent1", "wrong")
    clock.advance(seconds=31)
    assert console.login("agent1", "wrong").status_code == 401     # the 6th: 60 s now
    clock.advance(seconds=59)
    assert console.login("agent1", "demo").status_code == 429
    clock.advance(seconds=2)
    assert console.login("agent1", "demo").status_code == 302


def test_attempts_while_delayed_are_not_counted_so_the_delay_does_not_grow(console, clock, hl):
    for _ in range(5):
        console.login("agent1", "wrong")
    clock.advance(seconds=10)
    assert console.login("agent1", "wrong").status_code == 429
    with hl.session() as s:
        assert len(s.scalars(select(LoginAttempt).where(LoginAttempt.username == "agent1")).all()) == 5
    clock.advance(seconds=21)
    assert console.login("agent1", "demo").status_code == 302


def test_failures_spread_over_more_than_the_window_do_not_delay(console, clock):
    for _ in range(5):
        console.login("agent1", "wrong")
        clock.advance(minutes=15)
    assert console.login("agent1", "demo").status_code == 302


def test_failures_from_other_addresses_do_not_lock_the_user_out_where_they_usually_log_in(app, clock):
    office = Console(app, "10.1.1.1")
    assert office.login("admin").status_code == 302       # admin's usual address
    office.logout()
    clock.advance(hours=2)
    for n in range(40):    # a guesser spread over many addresses, and many tries from one
        Console(app, f"10.9.9.{n % 4}").login("admin", f"guess{n}")
    assert Console(app, "10.9.9.0").login("admin", "demo").status_code == 429
    assert Console(app, "10.7.7.7").login("admin", "demo").status_code == 429    # unknown place: delayed
    assert Console(app, "10.1.1.1").login("admin", "demo").status_code == 302


def test_many_names_tried_from_one_address_delay_that_address_but_not_users_known_there(app, clock):
    assert Console(app, "10.5.5.5").login("agent2").status_code == 302
    attacker = Console(app, "10.5.5.5")
    for n in range(30):
        attacker.login(f"guess{n}", "guess")
    assert attacker.login("agent1", "demo").status_code == 429
    assert Console(app, "10.5.5.5").login("agent2").status_code == 302
    assert Console(app, "10.1.1.1").login("agent1", "demo").status_code == 302


def test_a_success_starts_the_users_count_again(console):
    for _ in range(4):
        console.login("agent1", "wrong")
    assert console.login("agent1", "demo").status_code == 302
    console.logout()
    console.login("agent1", "wrong")
    assert console.login("agent1", "demo").status_code == 302


def test_client_address_is_read_from_x_forwarded_for_only_from_a_trusted_proxy(tmp_path, clock):
    h = make_test_hotline(f"sqlite:///{tmp_path}/proxy.db", clock=clock, TRUSTED_PROXIES="127.0.0.1")
    try:
        app = create_app(h, {"TESTING": True})
        behind_proxy = Console(app, "127.0.0.1")
        behind_proxy.client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
        behind_proxy.login("agent1", "wrong")
        forged = Console(app, "198.51.100.9")
        forged.client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.99"
        forged.login("agent1", "wrong")
        with h.session() as s:
            assert set(s.scalars(select(LoginAttempt.remote_addr))) == {"203.0.113.7", "198.51.100.9"}
    finally:
        h.close()


def test_logins_failed_logins_and_logouts_are_in_the_audit_trail_with_the_address(app, hl):
    c = Console(app, "10.2.3.4")
    c.login("agent1", "wrong")
    c.login("agent1")
    c.logout()
    with hl.session() as s:
        rows = s.execute(select(AuditLog.action, AuditLog.actor_label, AuditLog.remote_addr)
                         .where(AuditLog.action.in_(("login", "login.failed", "logout"))).order_by(AuditLog.id)).all()
    assert [tuple(r) for r in rows] == [("login.failed", "agent1", "10.2.3.4"), ("login", "agent1", "10.2.3.4"),
                                        ("logout", "agent1", "10.2.3.4")]


def test_a_cookie_copied_before_logout_does_not_work_after_it(login, app):
    c = login("agent1")
    stolen = Console(app)
    stolen.client.set_cookie("hotline_session", c.client.get_cookie("hotline_session").value)
    assert logged_in(stolen)
    c.logout()
    assert not logged_in(stolen)


def test_a_cookie_copied_before_a_password_reset_does_not_work_after_it(login, app, hl):
    c = login("agent2")
    stolen = Console(app)
    stolen.client.set_cookie("hotline_session", c.client.get_cookie("hotline_session").value)
    admin = login("admin")
    with hl.session() as s:
        uid = s.scalar(select(User.id).where(User.username == "agent2"))
    admin.post(f"/admin/users/{uid}/account", {"action": "reset_password", "password": "new-secret-123"})
    assert not logged_in(stolen)


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


def test_pages_forbid_inline_script_and_the_templates_have_none(console):
    import pathlib
    import re
    policy = console.get("/login").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and "style-src 'self'" in policy
    templates = pathlib.Path(app_module.__file__).parent / "templates"
    for page in templates.rglob("*.html"):
        source = page.read_text()
        # A JSON data block (type="application/json") is data the browser never runs; CSP allows it.
        assert not re.search(r'<script(?![^>]*\b(?:src=|type="application/json"))', source), \
            f"inline <script> in {page.name}"
        assert not re.search(r"\son[a-z]+\s*=", source), f"inline event handler in {page.name}"
        assert not re.search(r"\sstyle\s*=", source), f"inline style in {page.name}"


def test_the_softphone_sdk_is_the_only_other_script_source_when_configured(tmp_path, clock):
    h = make_test_hotline(f"sqlite:///{tmp_path}/sp.db", clock=clock, demo=False, TWILIO_API_KEY="SKx",
                          TWILIO_API_SECRET="secret", TWILIO_TWIML_APP_SID="APx",
                          TWILIO_VOICE_SDK_URL="https://assets.example.cn/twilio.min.js")
    try:
        policy = create_app(h, {"TESTING": True}).test_client().get("/login").headers["Content-Security-Policy"]
        assert "script-src 'self' https://assets.example.cn;" in policy
        assert "wss://*.twilio.com" in policy
    finally:
        h.close()


def test_pages_with_customer_data_are_not_stored_by_browsers_or_proxies(login, console):
    assert login("agent1").get("/orders/?phone=8000").headers["Cache-Control"] == "no-store"
    assert "no-store" not in console.get("/static/css/console.css").headers.get("Cache-Control", "")


def test_hsts_is_sent_over_https_only(tmp_path, clock):
    h = make_test_hotline(f"sqlite:///{tmp_path}/hsts.db", clock=clock, demo=False, TRUSTED_PROXIES="127.0.0.1")
    try:
        client = create_app(h, {"TESTING": True}).test_client()
        assert "Strict-Transport-Security" not in client.get("/login").headers
        assert client.get("/login", base_url="https://localhost").headers["Strict-Transport-Security"] \
            == "max-age=31536000"
        proxied = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" in proxied.headers
    finally:
        h.close()
