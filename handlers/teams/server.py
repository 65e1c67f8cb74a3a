"""The messaging endpoint: ``POST TEAMS_PATH`` on TEAMS_PORT, authenticated before anything runs.

A standard-library threaded server (as the health door, handlers/health.py): one route, a
bounded JSON body, the Bot Framework token checked (handlers/teams/auth.py), then the activity
goes to the door's dispatcher, whose answer is the HTTP response (an invoke's answer travels in
it: a dialog, a refreshed card). Put it behind the TLS reverse proxy that Azure Bot's
messaging endpoint names (docs/teams.md).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.privacy import log_message
from handlers.teams.auth import BotFrameworkAuth, Unauthorized

log = logging.getLogger(__name__)

#: Teams activities are small (a message is at most about 28 KB; a card submit carries its
#: inputs): anything larger is refused unread (bounded work on untrusted input).
MAX_BODY = 256 * 1024

#: (status, JSON body or None) for an activity whose token has been checked.
Dispatch = Callable[[dict[str, Any]], tuple[int, dict[str, Any] | None]]


class TeamsServer:
    def __init__(self, host: str, port: int, path: str, auth: BotFrameworkAuth, dispatch: Dispatch) -> None:
        try:
            self.httpd = ThreadingHTTPServer((host, port), _handler(path, auth, dispatch))
        except OSError as exc:
            raise OSError(exc.errno, f"cannot serve Teams on {host}:{port} ({exc.strerror}); "
                          "set TEAMS_PORT to a free port") from exc
        self.httpd.daemon_threads = True
        self.path = path
        # A short poll: stop() returns promptly (the health door waits half a second).
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="teams", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{self.port}{self.path}"

    def start(self) -> TeamsServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def _handler(path: str, auth: BotFrameworkAuth, dispatch: Dispatch) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "review-bot"
        sys_version = ""
        protocol_version = "HTTP/1.1"  # keep-alive: the connector reuses its connections
        timeout = 15  # a client that sends nothing does not hold a thread

        def log_message(self, *args: Any) -> None:
            return None  # the access log would name conversations; failures are logged below

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK hold the body about 40 ms on a kept-alive connection.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != path:
                self._send(404, {"error": "not found"})
                return
            activity = self._read()
            if activity is None:
                return
            try:
                auth.verify(self.headers.get("Authorization"), activity)
            except Unauthorized as exc:
                log.warning("teams request refused: %s", exc)
                self._send(401, {"error": "unauthorized"})
                return
            try:
                status, body = dispatch(activity)
            except Exception as exc:
                # What someone typed may be in the message: its redacted form only (bot.privacy).
                log.error("teams activity failed (%s): %s", type(exc).__name__, log_message(exc),
                          exc_info=False)
                self._send(500, {"error": "internal"})
                return
            self._send(status, body)

        def _read(self) -> dict[str, Any] | None:
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._send(411, {"error": "length required"})
                return None
            if length < 0 or length > MAX_BODY:
                self.close_connection = True
                self._send(413, {"error": "too large"})
                return None
            raw = self.rfile.read(length)
            try:
                activity = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                activity = None
            if not isinstance(activity, dict):
                self._send(400, {"error": "not a JSON activity"})
                return None
            return activity

        def _send(self, status: int, body: dict[str, Any] | None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
