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
    # ---- order states, moves, channels, units, levels
    "status.open": ("未完结", "open"),
    "status.new": ("待确认", "new"),
    "status.confirmed": ("待派工", "waiting for dispatch"),
    "status.dispatched": ("待接单", "waiting for acceptance"),
    "status.accepted": ("已接单", "accepted"),
    "status.in_service": ("服务中", "in service"),
    "status.completed": ("已完工", "completed"),
    "status.closed": ("已结案", "closed"),
    "status.cancelled": ("已取消", "cancelled"),
    "status.rework": ("返工", "rework"),
    "action.create": ("创建", "created"),
    "action.confirm": ("确认", "Confirm"),
    "action.dispatch": ("派工", "Dispatch"),
    "action.accept": ("接单", "Accept"),
    "action.reject": ("拒单", "Reject"),
    "action.expire": ("接单超时", "Acceptance timed out"),
    "action.recall": ("改派", "Reassign"),
    "action.assign_worker": ("指派服务人员", "Assign worker"),
    "action.start": ("开始服务", "Start"),
    "action.complete": ("完工", "Complete"),
    "action.close": ("回访结案", "Close after survey"),
    "action.reschedule": ("改期", "Reschedule"),
    "action.cancel": ("取消工单", "Cancel order"),
    "action.rework": ("返工", "Rework"),
    "action.note": ("备注", "Add note"),
    "channel.ivr": ("语音自助", "voice menu"),
    "channel.agent": ("坐席", "agent"),
    "channel.sms": ("短信", "SMS"),
    "channel.online": ("网上", "online"),
    "channel.twilio": ("Twilio 语音", "Twilio voice"),
    "unit.hour": ("小时", "hour"),
    "unit.visit": ("次", "visit"),
    "unit.month": ("月", "month"),
    "unit.sqm": ("平方米", "m²"),
    "level.standard": ("普通会员", "standard member"),
    "level.senior": ("高级会员", "senior member"),
    "level.vip": ("VIP 会员", "VIP member"),
    "survey.pending": ("待回访", "waiting"),
    "survey.answered": ("已回访", "answered"),
    "complaint.open": ("处理中", "open"),
    "complaint.resolved": ("已答复", "resolved"),
    # ---- orders
    "orders.search_title": ("工单查询", "Find work orders"),
    "orders.date_from": ("服务日期从", "Service date from"),
    "orders.date_to": ("服务日期至", "Service date to"),
    "orders.limit": ("只显示最新的 {n} 条，请缩小查询范围", "showing the newest {n}; narrow the search"),
    "order.title": ("工单 {number}", "Order {number}"),
    "order.number": ("工单号", "Order no."),
    "order.phone": ("电话", "Phone"),
    "order.customer": ("客户", "Customer"),
    "order.status": ("状态", "Status"),
    "order.district": ("片区", "District"),
    "order.service": ("服务项目", "Service"),
    "order.when": ("服务时间", "Service time"),
    "order.new_when": ("新的服务时间", "New service time"),
    "order.franchisee": ("加盟商", "Franchisee"),
    "order.worker": ("服务人员", "Worker"),
    "order.address": ("地址", "Address"),
    "order.address_hint": ("留空则使用客户的默认地址；片区按地址自动识别。",
                           "Leave empty for the customer's default address; the district is found from it."),
    "order.district_auto": ("按地址自动识别", "from the address"),
    "order.quantity": ("数量", "Quantity"),
    "order.quantity_hint": ("留空则按该项目的常用数量。", "Empty: the service's usual quantity."),
    "order.urgent": ("紧急（优先派工）", "Urgent (dispatched first)"),
    "order.notes": ("备注", "Notes"),
    "order.create": ("创建工单", "Create order"),
    "order.created": ("工单 {number} 已创建。", "Order {number} created."),
    "order.from_call": ("来自来电 #{id}，工单将关联此通话。", "From call #{id}; the order will be linked to it."),
    "order.known_customer": ("老客户：{name}", "Known customer: {name}"),
    "order.facts": ("工单信息", "Order"),
    "order.channel": ("来源", "Channel"),
    "order.call": ("通话 #{id}", "call #{id}"),
    "order.created_at": ("创建时间", "Created"),
    "order.completion_notes": ("完工说明", "Completion notes"),
    "order.flag": ("需人工处理", "Needs an agent"),
    "order.unassigned_reason": ("未派出原因", "Why not dispatched"),
    "order.survey": ("回访", "Survey"),
    "order.price": ("价格明细", "Price"),
    "order.timeline": ("处理记录", "Timeline"),
    "order.no_actions": ("您的角色在此状态下没有可执行的操作。", "Your role has no moves on this order in its state."),
    "order.choose_district": ("选择地址所在片区", "District the address is in"),
    "order.confirm_district": ("确认片区并派工", "Confirm district and dispatch"),
    "order.final_price": ("实际结算价", "Final price"),
    "order.reason": ("原因", "Reason"),
    "order.note_text": ("备注内容", "Note"),
    "order.unknown_action": ("未知操作 {action}。", "Unknown action {action}."),
    "order.done": ("已{action}：工单 {number}。", "{action}: order {number} done."),
    "order.unassigned": ("暂无可接单的加盟商，工单留在待派队列：{reason}",
                         "No franchisee can take it now; the order waits in the unassigned queue: {reason}"),
    "order.district_set": ("工单 {number} 的片区已确认。", "District of order {number} confirmed."),
    "price.item": ("项目", "Item"),
    "price.quantity": ("数量", "Qty"),
    "price.unit_price": ("单价", "Unit price"),
    "price.amount": ("金额", "Amount"),
    "price.total": ("合计", "Total"),
    "price.final": ("实际结算", "Final price"),
    "penalty.title": ("距服务开始不足 72 小时", "Less than 72 hours before the service"),
    "penalty.explain": ("按服务协议，72 小时内改期或取消需收取订单金额 20% 的违约金。确认后将加入价格明细。",
                        "Under the service agreement, a change or cancellation within 72 hours costs 20% of the "
                        "order price. Confirming adds it to the price lines."),
    "penalty.none": ("距服务开始超过 72 小时，不收取违约金。", "More than 72 hours before the service: no penalty."),
    # ---- dispatch board
    "dispatch.no_district": ("待定片区", "District not known"),
    "dispatch.unassignable": ("暂无可派加盟商", "No franchisee can take"),
    "dispatch.overdue": ("接单超时", "Past accept deadline"),
    "dispatch.empty": ("没有等待派工或接单的工单。", "No orders are waiting for dispatch or acceptance."),
    "dispatch.select": ("选择", "Select"),
    "dispatch.select_all": ("全选待派工单", "Select all waiting orders"),
    "dispatch.batch": ("批量派工（按系统推荐）", "Batch dispatch (engine's choice)"),
    "dispatch.batch_hint": ("紧急和最早的工单先派。", "Urgent and earliest orders go first."),
    "dispatch.batch_none": ("请先勾选要派工的工单。", "Tick the orders to dispatch first."),
    "dispatch.batch_done": ("已派出 {n} 张工单。", "{n} orders dispatched."),
    "dispatch.batch_left": ("以下工单暂无可派加盟商，仍在待派队列：{numbers}",
                            "No franchisee could take these; they stay in the unassigned queue: {numbers}"),
    "dispatch.suggestion": ("系统推荐及理由", "Suggested, and why"),
    "dispatch.franchisee": ("加盟商", "Franchisee"),
    "dispatch.engine_choice": ("系统推荐", "Engine's choice"),
    "worker.health_cert": ("健康证至", "health cert. until"),
    "desk.record_survey": ("记录回访", "Record survey"),
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
