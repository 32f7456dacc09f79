"""A local stand-in for Twilio's REST API (Messages.json), served over real HTTP on loopback.

The real twilio Client talks to it through an HTTP client that only swaps the host, so the
request, its form encoding, basic auth and the response parsing are the package's own.
"""
from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from twilio.http.http_client import TwilioHttpClient

TWILIO_API = "https://api.twilio.com"


class FakeTwilio:
    """Records every request; answers with the queued responses, then with success."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.responses: list[tuple[int, dict]] = []
        self._sids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                fake.requests.append({"path": self.path, "form": form, "auth": self.headers.get("Authorization")})
                status, payload = fake.responses.pop(0) if fake.responses else (201, fake.created(form))
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

    def created(self, form: dict) -> dict:
        return {"sid": f"SM{next(self._sids):032d}", "status": "queued", "to": form.get("To"),
                "from": form.get("From"), "body": form.get("Body"), "num_segments": "1"}

    def refuse(self, status: int, code: int, message: str) -> None:
        self.responses.append((status, {"code": code, "message": message, "status": status,
                                        "more_info": f"https://www.twilio.com/docs/errors/{code}"}))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class LocalHttpClient(TwilioHttpClient):
    """The twilio package's own HTTP client, pointed at the fake."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=10)
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace(TWILIO_API, self.base_url), *args, **kwargs)
