"""The health door: ``GET /healthz`` (liveness) and ``GET /readyz`` (readiness) on HEALTH_PORT.

In Socket Mode nothing else listens, so a supervisor (Docker's HEALTHCHECK, Kubernetes, a load
balancer, a monitoring probe) needs this to know the bot is alive and working. Served in every
Slack mode and with Slack off, on its own thread, by the standard library: two fixed routes need
no framework. Answers are small JSON documents of states and times (bot/health.py), never data.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

#: Each route returns (ok, body); ok picks 200 or 503.
Route = Callable[[], tuple[bool, dict[str, Any]]]


class HealthServer:
    def __init__(self, host: str, port: int, routes: dict[str, Route]) -> None:
        self.routes = routes
        handler = _handler_for(routes)
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot serve health on {host}:{port} ({exc.strerror}); "
                          "set HEALTH_PORT to a free port, or empty to switch it off") from exc
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> HealthServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def _handler_for(routes: dict[str, Route]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "review-bot"
        sys_version = ""
        timeout = 10  # a client that sends nothing does not hold a thread

        def do_GET(self) -> None:
            route = routes.get(self.path.split("?", 1)[0])
            if route is None:
                self._send(404, {"status": "not found"})
                return
            try:
                ok, body = route()
            except Exception:
                log.exception("health check failed to run")
                ok, body = False, {}
            self._send(200 if ok else 503, {"status": "ok" if ok else "fail", **body})

        def do_HEAD(self) -> None:
            self.do_GET()

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            # Probes arrive every few seconds; a line each would bury the log.
            return

    return Handler


def start_health(host: str, port: int, routes: dict[str, Route]) -> HealthServer:
    """Serve ``routes`` on ``host:port`` (port 0: an ephemeral port, read it from ``.port``)."""
    server = HealthServer(host, port, routes).start()
    log.info("health endpoint on %s:%s (/healthz, /readyz)", host, server.port)
    return server
