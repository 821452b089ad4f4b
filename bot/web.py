"""The web server in the bot's process: /health, /metrics and the public iCal feeds of spaces."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from bot.ical import space_calendar
from bot.metrics import CONTENT_TYPE_LATEST, Metrics
from commands.context import Clock
from storage import Database

log = logging.getLogger(__name__)


def build_app(
    metrics: Metrics,
    health: Callable[[], tuple[bool, dict[str, object]]],
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    language: str = "de",
) -> web.Application:
    async def health_view(_request: web.Request) -> web.Response:
        ok, detail = health()
        return web.json_response({"ok": ok, **detail}, status=200 if ok else 503)

    async def metrics_view(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def ical_view(request: web.Request) -> web.Response:
        assert db is not None
        now = clock.now() if clock is not None else datetime.now(UTC)
        body = await space_calendar(
            db, request.match_info["lab"], request.match_info["space"], now, language=language
        )
        if body is None:
            return web.Response(status=404, text="not found")
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": "max-age=60"},
        )

    app = web.Application()
    app.router.add_get("/health", health_view)
    app.router.add_get("/metrics", metrics_view)
    if db is not None:
        app.router.add_get("/ical/{lab}/{space}.ics", ical_view)
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
