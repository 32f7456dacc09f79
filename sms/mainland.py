"""Aliyun SMS and Tencent Cloud SMS through their official SDKs: a notice goes out as the
provider's approved template (ALIYUN_SMS_TEMPLATES / TENCENT_SMS_TEMPLATES) with its parameters,
under the registered signature.

Their answers become `Sent` (the provider's id: Aliyun's BizId, Tencent's SerialNo) or
`ProviderError`; the codes that blame the recipient are the only ones that are final, everything
else (quota, per-number limits, template or signature not approved, keys, 5xx, network) is the
provider's and may pass to the other provider or a later try. Our message id travels as OutId
(Aliyun) and SessionContext (Tencent) and comes back in delivery receipts, so a receipt finds
its message even when we never stored the provider's id (a crash right after the send).

Delivery receipts are pushed by the providers to our public URL (agent_console/sms_hooks.py) and
turned into `receipts.Receipt` by `aliyun_receipt` and `tencent_receipt`, or asked for by the
`sms-receipts` job through each provider's `receipts` (sms/receipts.py).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from alibabacloud_dysmsapi20170525 import models as aliyun_models
from alibabacloud_dysmsapi20170525.client import Client as AliyunClient
from alibabacloud_tea_openapi import models as aliyun_openapi
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from Tea.exceptions import TeaException
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as tencent_models
from tencentcloud.sms.v20210111.sms_client import SmsClient

from sqlalchemy.orm import Session

from tickets.config import MainlandProvider
from tickets.phones import normalize
from tickets.timeutil import to_local

from .kinds import positional
from .providers import Outgoing, ProviderError, Sent
from .receipts import Pending, Receipt, apply_receipt

log = logging.getLogger(__name__)

TIMEOUT_MS = 10_000
# Aliyun's SendDate is a day in Beijing time, whatever TIMEZONE says.
ALIYUN_ZONE = ZoneInfo("Asia/Shanghai")
# QuerySendDetails SendStatus: 1 waiting for the carrier's receipt, 2 failed, 3 delivered.
ALIYUN_SEND_STATUS = {2: "failed", 3: "delivered"}
PULL_LIMIT = 100                # Tencent's most per PullSmsSendStatusByPhoneNumber page
# QuerySendDetails' largest page: a number's messages of one day, when looking for our OutId.
ALIYUN_PAGE_MOST = 50
# Answers that blame the number itself: no provider and no later try can deliver these.
ALIYUN_RECIPIENT_CODES = frozenset({"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"})
TENCENT_RECIPIENT_CODES = frozenset({"InvalidParameterValue.IncorrectPhoneNumber",
                                     "FailedOperation.PhoneNumberInBlacklist"})
# A network fault whose text says the request never left: safe to try elsewhere. Any other
# (a read timeout, a dropped connection) may have reached the provider.
NOT_SENT_MARKERS = ("NewConnectionError", "Failed to establish", "Name or service not known",
                    "ConnectTimeout", "Connection refused", "nodename nor servname")


def national(phone: str) -> str:
    """Aliyun takes mainland numbers without +86; others keep their international form."""
    return phone[3:] if phone.startswith("+86") else phone.lstrip("+")


class Throttle:
    """At most `per_second` sends a second from this process (the account's QPS)."""

    def __init__(self, per_second: int) -> None:
        self._gap = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._gap
        if start > now:
            time.sleep(start - now)


def _network_error(provider: str, text: str) -> ProviderError:
    sent_maybe = not any(marker in text for marker in NOT_SENT_MARKERS)
    return ProviderError(f"{provider} unreachable: {text}"[:255], transient=True, ambiguous=sent_maybe)


class AliyunProvider:
    """Aliyun Dysmsapi 2017-05-25 SendSms (ACS3-HMAC-SHA256 signed by the SDK)."""
    name = "aliyun"
    # QuerySendDetails lists every message Aliyun took, receipted or not: one it lacks never arrived.
    lists_unreceipted = True

    def __init__(self, account: MainlandProvider) -> None:
        self.account = account
        self._throttle = Throttle(account.per_second)
        self._client = AliyunClient(aliyun_openapi.Config(
            access_key_id=account.key_id, access_key_secret=account.secret, endpoint=account.endpoint,
            protocol=account.scheme, read_timeout=TIMEOUT_MS, connect_timeout=TIMEOUT_MS))

    def send(self, msg: Outgoing) -> Sent:
        a = self.account
        request = aliyun_models.SendSmsRequest(
            phone_numbers=national(msg.phone), sign_name=a.sign_name, template_code=a.templates[msg.template],
            template_param=json.dumps(msg.params or {}, ensure_ascii=False), out_id=msg.ref)
        self._throttle.wait()
        try:
            body = self._client.send_sms(request).body
        except AlibabaCloudException as exc:        # HTTP 4xx/5xx with an error body
            raise ProviderError(f"aliyun refused: HTTP {exc.status_code}, {exc.code}: {exc.message}"[:255],
                                transient=True) from exc
        except TeaException as exc:                 # no HTTP answer
            raise _network_error("aliyun", str(exc)) from exc
        if body.code != "OK":                       # HTTP 200 with a refusal raises nothing
            raise ProviderError(f"aliyun refused: {body.code}: {body.message}"[:255],
                                transient=body.code not in ALIYUN_RECIPIENT_CODES)
        return Sent(sid=body.biz_id, status="sent")

    def receipts(self, rows: list[Pending], now: datetime) -> list[Receipt]:
        """QuerySendDetails of each message (PhoneNumber, SendDate, BizId): its receipt, if the
        carrier has given one yet. A message without a BizId (its send got no answer) is looked
        for among the number's messages of that day by our OutId: found, it is at least `sent`."""
        found = []
        for row in rows:
            request = aliyun_models.QuerySendDetailsRequest(
                phone_number=national(row.phone), send_date=to_local(row.sent_at, ALIYUN_ZONE).strftime("%Y%m%d"),
                biz_id=row.sid, page_size=10 if row.sid else ALIYUN_PAGE_MOST, current_page=1)
            self._throttle.wait()
            try:
                body = self._client.query_send_details(request).body
            except AlibabaCloudException as exc:
                raise ProviderError(f"aliyun refused: HTTP {exc.status_code}, {exc.code}: {exc.message}"[:255],
                                    transient=True) from exc
            except TeaException as exc:
                raise _network_error("aliyun", str(exc)) from exc
            if body.code != "OK":
                raise ProviderError(f"aliyun refused: {body.code}: {body.message}"[:255], transient=True)
            details = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else []
            if not row.sid:
                details = [d for d in details if d.out_id == row.ref]
            for detail in details:
                status = ALIYUN_SEND_STATUS.get(int(detail.send_status or 1), "sent" if row.unsure else None)
                if status is not None:
                    found.append(Receipt("aliyun", row.phone, row.sid or "", detail.out_id or "", status,
                                         "" if status in ("delivered", "sent") else detail.err_code or ""))
        return found


class TencentProvider:
    """Tencent Cloud SMS 2021-01-11 SendSms (TC3-HMAC-SHA256 signed by the SDK)."""
    name = "tencent"
    # PullSmsSendStatusByPhoneNumber lists receipts only: a message it lacks may still be on its way.
    lists_unreceipted = False

    def __init__(self, account: MainlandProvider) -> None:
        self.account = account
        self._throttle = Throttle(account.per_second)
        profile = ClientProfile(httpProfile=HttpProfile(endpoint=account.endpoint, protocol=account.scheme,
                                                        reqTimeout=TIMEOUT_MS // 1000))
        self._client = SmsClient(credential.Credential(account.key_id, account.secret), account.region, profile)

    def send(self, msg: Outgoing) -> Sent:
        a = self.account
        request = tencent_models.SendSmsRequest()
        request.PhoneNumberSet = [msg.phone]
        request.SmsSdkAppId = a.app_id
        request.SignName = a.sign_name
        request.TemplateId = a.templates[msg.template]
        request.TemplateParamSet = positional(msg.template, msg.params or {})
        request.SessionContext = msg.ref
        self._throttle.wait()
        try:
            status = self._client.SendSms(request).SendStatusSet[0]
        except TencentCloudSDKException as exc:
            if exc.get_code() == "ClientNetworkError":
                raise _network_error("tencent", exc.get_message()) from exc
            raise ProviderError(f"tencent refused: {exc.get_code()}: {exc.get_message()}"[:255],
                                transient=exc.get_code() not in TENCENT_RECIPIENT_CODES) from exc
        if status.Code != "Ok":                     # per-number refusals raise nothing
            raise ProviderError(f"tencent refused: {status.Code}: {status.Message}"[:255],
                                transient=status.Code not in TENCENT_RECIPIENT_CODES)
        return Sent(sid=status.SerialNo, status="sent")

    def receipts(self, rows: list[Pending], now: datetime) -> list[Receipt]:
        """PullSmsSendStatusByPhoneNumber of one number, from a minute before the first of `rows`
        was sent until now: every receipt the carrier gave in that span (ours or not: a
        receipt that is not of a waiting message changes nothing)."""
        request = tencent_models.PullSmsSendStatusByPhoneNumberRequest()
        request.PhoneNumber = rows[0].phone
        request.SmsSdkAppId = self.account.app_id
        request.BeginTime = _unix(min(r.sent_at for r in rows) - timedelta(minutes=1))
        request.EndTime = _unix(now)
        request.Offset, request.Limit = 0, PULL_LIMIT
        self._throttle.wait()
        try:
            statuses = self._client.PullSmsSendStatusByPhoneNumber(request).PullSmsSendStatusSet or []
        except TencentCloudSDKException as exc:
            if exc.get_code() == "ClientNetworkError":
                raise _network_error("tencent", exc.get_message()) from exc
            raise ProviderError(f"tencent refused: {exc.get_code()}: {exc.get_message()}"[:255],
                                transient=True) from exc
        return [Receipt("tencent", normalize(st.PhoneNumber), st.SerialNo, st.SessionContext or "",
                        "delivered" if st.ReportStatus == "SUCCESS" else "failed",
                        "" if st.ReportStatus == "SUCCESS" else st.Description or st.ReportStatus or "")
                for st in statuses]


def _unix(naive_utc: datetime) -> int:
    return int(naive_utc.replace(tzinfo=timezone.utc).timestamp())


PROVIDERS = {"aliyun": AliyunProvider, "tencent": TencentProvider}


# ---------------------------------------------------------------- delivery receipts

def aliyun_receipt(item: dict) -> Receipt:
    """One element of an Aliyun SmsReport push."""
    delivered = item.get("success") in (True, "true", "True")
    error = "" if delivered else f"{item.get('err_code', '')}: {item.get('err_msg', '')}"
    return Receipt("aliyun", normalize(str(item["phone_number"])), str(item["biz_id"]), str(item.get("out_id") or ""),
                   "delivered" if delivered else "failed", error)


def tencent_receipt(item: dict) -> Receipt:
    """One element of a Tencent status callback."""
    delivered = item.get("report_status") == "SUCCESS"
    error = "" if delivered else f"{item.get('errmsg', '')}: {item.get('description', '')}"
    phone = normalize(f"+{item.get('nationcode') or '86'}{item['mobile']}" if not str(item["mobile"]).startswith("+")
                      else str(item["mobile"]))
    return Receipt("tencent", phone, str(item["sid"]), str(item.get("ext") or ""),
                   "delivered" if delivered else "failed", error)


RECEIPT_PARSERS = {"aliyun": aliyun_receipt, "tencent": tencent_receipt}


def apply_receipts(session: Session, provider: str, items: list) -> int:
    """Apply a pushed batch of delivery receipts (in the caller's transaction); how many matched a
    message. A malformed element is skipped and logged: it will not improve on the provider's retry."""
    matched = 0
    for item in items:
        try:
            receipt = RECEIPT_PARSERS[provider](item)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("sms %s receipt skipped: %r (%s)", provider, item, exc)
            continue
        if apply_receipt(session, receipt) is not None:
            matched += 1
    return matched
