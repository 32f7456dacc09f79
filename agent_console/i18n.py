"""The console's words in Chinese (default) and English: one table, one `t()`.

Templates call `t("key")` (with `{name}` placeholders filled from keyword arguments). The
language is the session's choice (the zh/en switch in the header), Chinese by default.
Messages that come from tickets (refused moves, bad input) are shown as tickets wrote them.
"""
from __future__ import annotations

import logging

from flask import session

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

# key -> (中文, English)
STRINGS: dict[str, tuple[str, str]] = {
    # ---- frame
    "app.name": ("家政服务热线", "Home-services hotline"),
    "app.console": ("坐席控制台", "Console"),
    "lang.zh": ("中文", "中文"),
    "lang.en": ("English", "English"),
    "lang.switch": ("切换语言", "Language"),
    "nav.main": ("主导航", "Main navigation"),
    "nav.workspace": ("坐席工作台", "Workspace"),
    "nav.orders": ("工单查询", "Orders"),
    "nav.new_order": ("新建工单", "New order"),
    "nav.dispatch": ("派工台", "Dispatch board"),
    "nav.portal": ("加盟商工单", "My orders"),
    "nav.portal_figures": ("业绩与满意度", "Workload & ratings"),
    "nav.desk": ("回访", "Callbacks"),
    "nav.complaints": ("投诉", "Complaints"),
    "nav.wallboard": ("监控大屏", "Wallboard"),
    "nav.admin": ("系统管理", "Admin"),
    "nav.skip": ("跳到正文", "Skip to content"),
    "user.logout": ("退出", "Log out"),
    "user.logout_everywhere": ("退出所有设备", "Log out everywhere"),
    "user.signed_in_as": ("当前用户", "Signed in as"),
    "common.save": ("保存", "Save"),
    "common.search": ("查询", "Search"),
    "common.reset": ("清空", "Clear"),
    "common.back": ("返回", "Back"),
    "common.confirm": ("确认", "Confirm"),
    "common.cancel": ("取消", "Cancel"),
    "common.none": ("无", "none"),
    "common.yes": ("是", "yes"),
    "common.no": ("否", "no"),
    "common.all": ("全部", "all"),
    "common.actions": ("操作", "Actions"),
    "common.yuan": ("元", "yuan"),
    "common.empty": ("没有记录", "Nothing here"),
    "common.results": ("共 {n} 条", "{n} found"),
    "common.required": ("必填", "required"),
    "common.minutes_left": ("剩 {n} 分钟", "{n} min left"),
    "common.overdue_by": ("已超时 {n} 分钟", "overdue by {n} min"),
    "common.urgent": ("紧急", "Urgent"),
    "common.edit": ("修改", "Edit"),
    "common.add": ("添加", "Add"),
    "common.remove": ("删除", "Remove"),
    "common.active": ("启用", "Active"),
    "common.inactive": ("停用", "Inactive"),
    "common.details": ("详情", "Details"),
    # ---- errors
    "error.title": ("出错了", "Something went wrong"),
    "error.csrf": ("表单已过期或缺少安全令牌；请刷新页面后重新提交。",
                   "The form has expired or lacks its security token; reload the page and submit again."),
    "error.forbidden": ("您的角色无权访问此页面。如需权限请联系系统管理员。",
                        "Your role may not open this page. Ask an admin if you need it."),
    "error.not_found": ("找不到该页面或记录（或您无权查看）。", "No such page or record (or you may not see it)."),
    "error.login_needed": ("请先登录。", "Please log in first."),
    "error.session_ended": ("您的会话已结束（已在所有设备退出或账号已变更），请重新登录。",
                            "Your session has ended (logged out everywhere or account changed); log in again."),
    # ---- log-in
    "login.title": ("登录", "Log in"),
    "login.username": ("用户名", "User name"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.invalid": ("用户名或密码错误。", "Wrong user name or password."),
    "login.locked": ("登录失败次数过多，已暂时锁定。请在 {until} 之后再试，或联系管理员重置密码。",
                     "Too many failed log-ins: locked for now. Try again after {until}, or ask an admin "
                     "to reset your password."),
    "login.inactive": ("该账号已停用，请联系系统管理员。", "This account is deactivated; ask an admin."),
    "login.welcome": ("欢迎，{name}", "Welcome, {name}"),
    "login.logged_out": ("您已退出。", "You are logged out."),
    "login.logged_out_everywhere": ("已在所有设备退出。", "You are logged out on every device."),
    "home.title": ("首页", "Home"),
    "home.choose": ("请选择要进入的工作区：", "Choose where to work:"),
    # ---- roles
    "role.agent": ("坐席", "Agent"),
    "role.dispatcher": ("调度员", "Dispatcher"),
    "role.district_manager": ("片区经理", "District manager"),
    "role.callback": ("回访专员", "Callback staff"),
    "role.supervisor": ("主管", "Supervisor"),
    "role.admin": ("系统管理员", "Administrator"),
    "role.franchisee": ("加盟商", "Franchisee"),
}


def current_language() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, **params) -> str:
    """The text for `key` in the current language, with `{name}` placeholders filled."""
    pair = STRINGS.get(key)
    if pair is None:
        # Shown as the key so the gap is visible on the page; tests check every key used exists.
        log.warning("i18n: no text for %r", key)
        return key
    text = pair[LANGUAGES.index(current_language())]
    return text.format(**params) if params else text


def label(prefix: str, value: str | None) -> str:
    """A translated value name (a status, a role, an action), or the raw value when none is defined."""
    if value is None:
        return ""
    key = f"{prefix}.{value}"
    return t(key) if key in STRINGS else value
