"""The agent's Twilio softphone: its access token, and the webhooks of the agent's call.

Two blueprints (the logic is in ivr.twilio_agents; setup in docs/twilio-agents.md):

- `softphone` (console, log-in and a call-taking role): `POST /workspace/softphone/token` gives
  the workspace page a Twilio Access Token for the Voice JS SDK; 503 naming the missing
  variables when Twilio is not configured. The workspace includes `workspace_softphone.html`,
  which loads the SDK only when it is configured.
- `agent_hooks` (Twilio, signed like every Twilio webhook): `POST /twilio/agent/voice` is the
  TwiML App's voice URL (the agent's softphone dials the agents' queue), and
  `POST /twilio/agent/connect?agent=<user id>` is the Queue url Twilio fetches as it bridges
  the longest-waiting caller to that agent (the screen-pop, the agent on_call), and
  `POST /twilio/agent/dialed?agent=<user id>` is the Dial's action, posted when the agent's dial
  ends (talk time, `complete`, the agent to wrap-up). Each runs once per CallSid (and QueueSid):
  a replay gets the stored TwiML and records or offers nothing again.
"""
from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, jsonify, request, url_for

from ivr import twilio_agents
from ivr.twilio import Links, TwilioVoice
from tickets.agents import CALL_TAKING_ROLES
from tickets.inputs import whole_number

from .app import db, hotline
from .i18n import STRINGS, t
from .security import current_user, role_required
from .webhooks import answer_errors, exactly_once, twilio_signed

log = logging.getLogger(__name__)

bp = Blueprint("softphone", __name__, url_prefix="/workspace/softphone")
hooks = Blueprint("agent_hooks", __name__)
answer_errors(hooks, twiml=True)

PROVIDER = "twilio-client"
_VOICE = "ivr.twilio"     # the TwilioVoice voice_hooks installs (prompt files, call states)

# key -> (中文, English); added to the console's table when the blueprint is registered.
SOFTPHONE_STRINGS: dict[str, tuple[str, str]] = {
    "sp.title": ("Twilio 软电话", "Twilio softphone"),
    "sp.off": ("Twilio 软电话未配置", "Twilio softphone not configured"),
    "sp.off.missing": ("需设置：{names}", "Set: {names}"),
    "sp.take": ("接听下一位来电", "Take the next caller"),
    "sp.hangup": ("挂断", "Hang up"),
    "sp.mute": ("静音", "Mute"),
    "sp.unmute": ("取消静音", "Unmute"),
    "sp.state.loading": ("软电话启动中…", "Starting the softphone…"),
    "sp.state.ready": ("软电话就绪", "Softphone ready"),
    "sp.state.dialing": ("正在接入队列…", "Taking the next caller…"),
    "sp.state.live": ("通话中", "On the call"),
    "sp.state.ended": ("通话已结束", "Call ended"),
    "sp.state.error": ("软电话出错：", "Softphone error: "),
    "sp.state.nosdk": ("无法加载 Twilio Voice SDK（检查 TWILIO_VOICE_SDK_URL 与网络）。",
                       "The Twilio Voice SDK did not load (check TWILIO_VOICE_SDK_URL and the network)."),
}


@bp.record_once
def _setup(state) -> None:
    for key, pair in SOFTPHONE_STRINGS.items():
        STRINGS.setdefault(key, pair)


@bp.app_context_processor
def _template_helpers() -> dict:
    return {"softphone": softphone}


def softphone() -> dict:
    """What the workspace's softphone box shows: configured or not (and what is missing), its URLs,
    and the logged-in user's Twilio client name."""
    settings = hotline().settings
    missing = twilio_agents.missing_settings(settings)
    user = current_user()
    return {"configured": not missing, "missing": missing, "sdk_url": settings.twilio_voice_sdk_url,
            "token_url": url_for("softphone.token"), "client": twilio_agents.client_name(user) if user else ""}


@bp.post("/token")
@role_required(*CALL_TAKING_ROLES)
def token():
    """A Twilio Access Token for this agent's softphone (JSON), or 503 naming what is not configured."""
    settings = hotline().settings
    missing = twilio_agents.missing_settings(settings)
    if missing:
        names = ", ".join(missing)
        return jsonify(error=f"{t('sp.off')}: {t('sp.off.missing', names=names)}", missing=missing), 503
    user = current_user()
    resp = jsonify(token=twilio_agents.access_token(settings, user), identity=twilio_agents.client_identity(user),
                   ttl=twilio_agents.TOKEN_TTL_SECONDS)
    # A credential: never cached by a browser or a proxy.
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _voice() -> TwilioVoice:
    return current_app.extensions[_VOICE]


def _call_sid() -> str:
    return request.form.get("CallSid") or abort(400, "CallSid is missing")


@hooks.post("/twilio/agent/voice")
@twilio_signed
def dial():
    """The TwiML App's voice URL: the agent's softphone takes the longest-waiting caller of the
    highest-priority queue with someone in it."""
    sid, caller = _call_sid(), request.form.get("From", "")

    def work(s):
        agent = twilio_agents.agent_for_client(s, caller)
        if agent is None:
            log.warning("twilio agent call %s: refused, %r is not the softphone of an active agent", sid, caller)
            abort(403)
        return twilio_agents.dial_queue(url_for(".connect", agent=agent.id), url_for(".dialed", agent=agent.id),
                                        twilio_agents.next_queue(s))
    return exactly_once(db(), PROVIDER, f"{sid}:dial", work)


@hooks.post("/twilio/agent/connect")
@twilio_signed
def connect():
    """<Queue url>: Twilio is bridging the caller (CallSid) to the agent named in our own URL."""
    sid, agent_id = _call_sid(), _agent_id()
    params = request.form.to_dict()
    links = Links(answer="", no_input="", queue_result="",
                  prompt=lambda lang, key: url_for("voice_hooks.prompt", lang=lang, key=key))

    def work(s):
        return twilio_agents.connect(s, _voice(), params, _agent(s, sid, agent_id), links)
    key = f"{sid}:connect:{request.form.get('QueueSid', '')}"[:128]
    return exactly_once(db(), PROVIDER, key, work)


@hooks.post("/twilio/agent/dialed")
@twilio_signed
def dialed():
    """<Dial action>: the dial of the agent's call (CallSid) into the queue has ended."""
    sid, agent_id = _call_sid(), _agent_id()
    params = request.form.to_dict()
    return exactly_once(db(), PROVIDER, f"{sid}:dialed",
                        lambda s: twilio_agents.dialed(s, params, _agent(s, sid, agent_id)))


def _agent_id() -> int:
    agent_id = whole_number(request.args.get("agent"), "agent (a user id from our own TwiML)", minimum=1)
    if agent_id is None:
        abort(400, "agent must be a user id from our own TwiML")
    return agent_id


def _agent(s, sid: str, agent_id: int):
    """The active agent our own URL names; 403 for anyone else."""
    agent = twilio_agents.agent_by_id(s, agent_id)
    if agent is None:
        log.warning("twilio call %s: refused, user %s is not an active agent", sid, agent_id)
        abort(403)
    return agent
