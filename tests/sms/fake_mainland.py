"""A local stand-in for the Aliyun and Tencent Cloud SMS APIs, served over real HTTP on loopback.

The official SDKs talk to it through their own endpoint settings (Aliyun `Config(endpoint,
protocol='http')`, Tencent `HttpProfile(endpoint, protocol='http')`), so the request, its
signature and the parsing of the answer are the SDKs' own. Each request is recorded with its
signature checked here from the providers' documented algorithms (ACS3-HMAC-SHA256 and
TC3-HMAC-SHA256), recomputed from what arrived on the wire.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

ALIYUN_KEY = ("LTAI-test", "aliyun-secret")
STATUS_ACTIONS = ("QuerySendDetails", "PullSmsSendStatusByPhoneNumber")
TENCENT_KEY = ("AKID-test", "tencent-secret")
TAKEN_UNANSWERED = {"taken": "but not answered"}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def acs3_signature(method: str, path: str, headers: dict[str, str], secret: str) -> tuple[str, str]:
    """(expected, received) Aliyun ACS3-HMAC-SHA256 signatures of a request (A:2593177.html):
    HMAC-SHA256(secret, "ACS3-HMAC-SHA256\\n" + hex SHA-256(canonical request)), hex."""
    auth = headers["authorization"]
    fields = dict(part.split("=", 1) for part in auth.split(" ", 1)[1].split(","))
    signed = fields["SignedHeaders"].split(";")
    url = urlsplit(path)
    query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}"
                     for k, v in sorted(parse_qsl(url.query, keep_blank_values=True)))
    canonical = "\n".join([method, url.path or "/", query,
                           "".join(f"{h}:{headers[h].strip()}\n" for h in signed),
                           ";".join(signed), headers["x-acs-content-sha256"]])
    expected = hmac.new(secret.encode(), f"ACS3-HMAC-SHA256\n{_sha256(canonical.encode())}".encode(),
                        hashlib.sha256).hexdigest()
    return expected, fields["Signature"]


def tc3_signature(headers: dict[str, str], body: bytes, secret: str) -> tuple[str, str]:
    """(expected, received) Tencent TC3-HMAC-SHA256 signatures of a POST (api/382/52071)."""
    timestamp = int(headers["x-tc-timestamp"])
    date = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    canonical = (f"POST\n/\n\ncontent-type:{headers['content-type']}\nhost:{headers['host']}\n\n"
                 f"content-type;host\n{_sha256(body)}")
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{date}/sms/tc3_request\n{_sha256(canonical.encode())}"
    key = _hmac(_hmac(_hmac(("TC3" + secret).encode(), date), "sms"), "tc3_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return expected, re.search(r"Signature=([0-9a-f]+)", headers["authorization"]).group(1)


class FakeMainland:
    """Both providers on one port, told apart by their headers (x-acs-action / X-TC-Action).
    Records every request; answers SendSms with the queued responses, then with success, and the
    status queries (Aliyun QuerySendDetails, Tencent PullSmsSendStatusByPhoneNumber) from what it
    accepted and the carrier's reports a test gave it (`carrier_reports`): no report, still waiting."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.responses: dict[str, list[tuple[int, dict]]] = {"aliyun": [], "tencent": []}
        self._ids = itertools.count(1)
        self.accepted_sends: dict[tuple[str, str], dict] = {}     # (provider, its id) -> SendSms params
        self.reports: dict[tuple[str, str], tuple[bool, str]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                provider = "tencent" if "x-tc-action" in headers else "aliyun"
                if provider == "aliyun":
                    expected, got = acs3_signature("POST", self.path, headers, ALIYUN_KEY[1])
                    params = dict(parse_qsl(urlsplit(self.path).query))
                    payload_ok = headers["x-acs-content-sha256"] == _sha256(body)
                else:
                    expected, got = tc3_signature(headers, body, TENCENT_KEY[1])
                    params = json.loads(body)
                    payload_ok = True
                fake.requests.append({"provider": provider, "params": params, "headers": headers,
                                      "signature_ok": payload_ok and hmac.compare_digest(expected, got)})
                action = headers.get("x-tc-action") or headers.get("x-acs-action")
                queued = fake.responses[provider]
                if action in STATUS_ACTIONS and not queued:
                    status, answer = 200, fake.statuses(provider, params)
                else:
                    status, answer = queued.pop(0) if queued else (200, fake.accepted(provider, params))
                if answer == TAKEN_UNANSWERED:
                    fake.accepted(provider, params)
                if answer in (None, TAKEN_UNANSWERED):      # hang up without answering: the request did arrive
                    self.close_connection = True
                    return
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def accepted(self, provider: str, params: dict) -> dict:
        n = next(self._ids)
        if provider == "aliyun":
            self.accepted_sends[("aliyun", f"90061974693649844{n}^0")] = params
            return {"Code": "OK", "Message": "OK", "BizId": f"90061974693649844{n}^0", "RequestId": f"req-{n}"}
        self.accepted_sends[("tencent", f"2640:{n}")] = params
        return {"Response": {"SendStatusSet": [{
            "SerialNo": f"2640:{n}", "PhoneNumber": params["PhoneNumberSet"][0], "Fee": 1,
            "SessionContext": params.get("SessionContext", ""), "Code": "Ok", "Message": "send success",
            "IsoCode": "CN"}], "RequestId": f"req-{n}"}}

    def carrier_reports(self, provider: str, sid: str, delivered: bool = True, code: str = "DELIVERED") -> None:
        """The carrier's receipt of message `sid` (BizId, SerialNo), as the status queries give it."""
        self.reports[(provider, sid)] = (delivered, code)

    def statuses(self, provider: str, params: dict) -> dict:
        if provider == "aliyun":
            # QuerySendDetails by BizId: the message sent to that number, its SendStatus 1/2/3;
            # without a BizId, every message sent to the number (this fake keeps no dates).
            wanted = [params["BizId"]] if params.get("BizId") else [
                sid for (name, sid) in self.accepted_sends if name == "aliyun"]
            details = []
            for biz_id in wanted:
                sent = self.accepted_sends.get(("aliyun", biz_id))
                if sent is None or sent["PhoneNumbers"] != params.get("PhoneNumber"):
                    continue
                delivered, code = self.reports.get(("aliyun", biz_id), (None, ""))
                details.append({"PhoneNum": sent["PhoneNumbers"], "TemplateCode": sent["TemplateCode"],
                                "OutId": sent.get("OutId", ""), "Content": "【签名】...",
                                "SendStatus": 1 if delivered is None else (3 if delivered else 2),
                                "ErrCode": code if delivered is not None else "", "SendDate": "2026-11-23 10:00:00",
                                "ReceiveDate": "2026-11-23 10:00:05" if delivered is not None else ""})
            return {"Code": "OK", "Message": "OK", "RequestId": "req-q", "TotalCount": len(details),
                    "SmsSendDetailDTOs": {"SmsSendDetailDTO": details}}
        # PullSmsSendStatusByPhoneNumber: every report of a message sent to that number.
        found = []
        for (name, sid), sent in self.accepted_sends.items():
            report = self.reports.get((name, sid))
            if name == "tencent" and report is not None and sent["PhoneNumberSet"][0] == params["PhoneNumber"]:
                found.append({"UserReceiveTime": "2026-11-23 10:00:05", "CountryCode": "86",
                              "SubscriberNumber": params["PhoneNumber"].removeprefix("+86"),
                              "PhoneNumber": params["PhoneNumber"], "SerialNo": sid,
                              "ReportStatus": "SUCCESS" if report[0] else "FAIL", "Description": report[1],
                              "SessionContext": sent.get("SessionContext", "")})
        return {"Response": {"PullSmsSendStatusSet": found, "RequestId": "req-p"}}

    def aliyun_refuses(self, code: str, message: str, status: int = 200) -> None:
        """Aliyun's answer with a code other than OK (HTTP 200 for business refusals)."""
        self.responses["aliyun"].append((status, {"Code": code, "Message": message, "RequestId": "req-x"}))

    def tencent_refuses(self, code: str, message: str, *, per_number: bool = True) -> None:
        """Tencent's refusal: in SendStatusSet (per number) or as Response.Error (the whole call)."""
        if per_number:
            answer = {"Response": {"SendStatusSet": [{"SerialNo": "", "PhoneNumber": "", "Fee": 0, "SessionContext": "",
                                                      "Code": code, "Message": message, "IsoCode": "CN"}],
                                   "RequestId": "req-x"}}
        else:
            answer = {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req-x"}}
        self.responses["tencent"].append((200, answer))

    def hangs_up(self, provider: str) -> None:
        """The next request to `provider` arrives and gets no answer (the connection drops)."""
        self.responses[provider].append((0, None))

    def takes_and_hangs_up(self, provider: str) -> None:
        """The next send to `provider` is taken (the carrier will have it) but gets no answer."""
        self.responses[provider].append((0, TAKEN_UNANSWERED))

    def of(self, provider: str) -> list[dict]:
        return [r for r in self.requests if r["provider"] == provider]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
