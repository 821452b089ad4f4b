"""Prometheus metrics, in a registry of their own so several bots can live in one test process."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "labnetz_commands_total",
            "Commands handled, by command and outcome",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "labnetz_command_seconds",
            "Time from receiving a command to its reply being queued",
            ["command"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.outbox = Gauge(
            "labnetz_outbox_rows", "Outbox rows by delivery state", ["state"], registry=self.registry
        )
        self.deliveries = Counter(
            "labnetz_deliveries_total",
            "Delivery attempts by result (sent, retry, throttled, failed)",
            ["result"],
            registry=self.registry,
        )
        self.undecryptable = Counter(
            "labnetz_undecryptable_events_total", "Events the bot could not decrypt", registry=self.registry
        )
        self.requests = Counter(
            "labnetz_homeserver_requests_total",
            "Requests to the homeserver, by endpoint (sync, send, state, join, keys, ...)",
            ["endpoint"],
            registry=self.registry,
        )
        self.due_fired = Counter(
            "labnetz_due_items_fired_total",
            "Due items (reminders, notices, digests) fired, by result (ok, failed)",
            ["result"],
            registry=self.registry,
        )
        self.due_pending = Gauge(
            "labnetz_due_items_pending", "Due items waiting for their time", registry=self.registry
        )
        self.since_sync = Gauge(
            "labnetz_seconds_since_last_sync",
            "Seconds since the last successful sync (-1 before the first)",
            registry=self.registry,
        )

    def request(self, endpoint: str) -> None:
        self.requests.labels(endpoint).inc()

    def command(self, name: str, outcome: str, seconds: float) -> None:
        self.commands.labels(name, outcome).inc()
        self.latency.labels(name).observe(seconds)

    def watch_sync(self, seconds_since_sync: Callable[[], float | None]) -> None:
        self.since_sync.set_function(lambda: -1.0 if (s := seconds_since_sync()) is None else s)

    def set_outbox(self, counts: dict[str, int]) -> None:
        for state, count in counts.items():
            self.outbox.labels(state).set(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
