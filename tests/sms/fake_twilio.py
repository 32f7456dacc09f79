"""A local stand-in for Twilio's REST API (Messages.json, Calls.json), served over real HTTP on loopback.

The real twilio Client talks to it through an HTTP client that only swaps the host, so the
request, its form encoding, basic auth and the response parsing are the package's own. It
answers as Twilio does: 201 with the queued resource, or what a test queued first: an error
status with Twilio's JSON error body (`refuse`), or no answer at all (`stall`: the request
arrived and the client's read timeout runs out).
"""
from __future__ import annotations

import base64
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"
ACCOUNT = "ACtest"
CALLS_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"


class FakeTwilio:
    """Records every request; answers with the queued responses, then with success."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.responses: list[tuple[int, dict] | None] = []
        self._sids = itertools.count(1)
        self._release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                fake.requests.append({"path": self.path, "form": form, "auth": self.headers.get("Authorization")})
                answer = fake.responses.pop(0) if fake.responses else (201, fake.created(self.path, form))
                if answer is None:
                    fake._release.wait(30)
                    self.close_connection = True
                    return
                status, payload = answer
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def created(self, path: str, form: dict) -> dict:
        if path.endswith("/Calls.json"):
            return {"sid": f"CA{next(self._sids):032d}", "status": "queued", "to": form.get("To"),
                    "from": form.get("From"), "account_sid": ACCOUNT, "direction": "outbound-api"}
        return {"sid": f"SM{next(self._sids):032d}", "status": "queued", "to": form.get("To"),
                "from": form.get("From"), "body": form.get("Body"), "num_segments": "1"}

    def refuse(self, status: int, code: int, message: str) -> None:
        self.responses.append((status, {"code": code, "message": message, "status": status,
                                        "more_info": f"https://www.twilio.com/docs/errors/{code}"}))

    def stall(self) -> None:
        """The next request arrives and is never answered."""
        self.responses.append(None)

    @staticmethod
    def credentials(request: dict) -> str:
        """`user:password` of a recorded request's Basic auth."""
        scheme, _, encoded = (request["auth"] or "").partition(" ")
        return base64.b64decode(encoded).decode() if scheme == "Basic" else ""

    def client(self, token: str, timeout: float = 10) -> Client:
        """The real twilio Client of account ACtest, its requests sent here."""
        return Client(ACCOUNT, token, http_client=LocalHttpClient(self.url, timeout))

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class LocalHttpClient(TwilioHttpClient):
    """The twilio package's own HTTP client, pointed at the fake."""

    def __init__(self, base_url: str, timeout: float = 10) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace(TWILIO_API, self.base_url), *args, **kwargs)
