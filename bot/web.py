"""The web server in the bot's process: /health and /metrics (public pages come later)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from bot.metrics import CONTENT_TYPE_LATEST, Metrics

log = logging.getLogger(__name__)


def build_app(metrics: Metrics, health: Callable[[], tuple[bool, dict[str, object]]]) -> web.Application:
    async def health_view(_request: web.Request) -> web.Response:
        ok, detail = health()
        return web.json_response({"ok": ok, **detail}, status=200 if ok else 503)

    async def metrics_view(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/health", health_view)
    app.router.add_get("/metrics", metrics_view)
    return app


class WebServer:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.runner = web.AppRunner(app, access_log=None)
        self.host = host
        self.port = port

    async def start(self) -> int:
        """Start listening; returns the port (useful when 0 asked for a free one)."""
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # noqa: SLF001
        self.port = sockets[0].getsockname()[1] if sockets else self.port
        log.info("web server on http://%s:%s", self.host, self.port)
        return self.port

    async def stop(self) -> None:
        await self.runner.cleanup()
