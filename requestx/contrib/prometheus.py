"""Prometheus metrics from the engine's aggregates, read at scrape time.

    from prometheus_client import REGISTRY, start_http_server
    from requestx.contrib.prometheus import RequestxCollector

    REGISTRY.register(RequestxCollector())  # every session made with stats=True
    start_http_server(9464)

``RequestxCollector(sessions=None)`` is a custom collector: each scrape asks
the sessions' (and transports') engine Stats for a snapshot and turns it
into metric families; nothing runs per request in Python. ``sessions``: the
sessions and transports to read (each made with ``stats=True``); None means
every one that exists (requestx keeps them in a WeakSet). Series of several
sessions with the same labels are added together.

Metrics (seconds, counts ending in _total, the OpenTelemetry buckets):

    requestx_client_request_duration_seconds    histogram: method, scheme,
        server_address, server_port, status_code, error_type
    requestx_client_phase_duration_seconds      histogram: phase (queue, dns,
        connect, tls, first_byte), scheme, server_address, server_port
    requestx_client_retries_total               counter: server_address, reason
    requestx_client_resends_total               counter: server_address, reason
    requestx_client_circuit_transitions_total   counter: key, state
    requestx_client_circuit_state               gauge 0/1: key, state
    requestx_client_open_connections            gauge: scheme, server_address,
        server_port, state (active | idle)

``status_code`` is "" for a request that got no response, ``error_type`` ""
for one that did. Origins beyond a session's ``stats_max_origins`` (1,000 by
default) are one ``server_address="_other"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Optional

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .._core import stats as _stats

__all__ = ["RequestxCollector"]

_PREFIX = "requestx_client_"
_STATES = ("closed", "open", "half_open")

# A histogram being summed: [per-bucket counts, sum].
_Hist = list[Any]


def _bound(value: float) -> str:
    return repr(float(value))


class RequestxCollector(Collector):
    """The engine's aggregates of ``sessions`` (None: every session and
    transport made with ``stats=True``) as Prometheus metric families."""

    def __init__(self, sessions: Optional[Iterable[Any]] = None) -> None:
        self._sessions = None if sessions is None else list(sessions)

    def _snapshots(self) -> list[_stats.Snapshot]:
        owners = list(_stats.owners) if self._sessions is None else self._sessions
        out = []
        for owner in owners:
            snap = owner.stats()
            if snap is not None:
                out.append(snap)
        return out

    def describe(self) -> Iterator[Metric]:
        """No metrics at registration (they are read at scrape time)."""
        return iter(())

    def collect(self) -> Iterator[Metric]:
        snapshots = self._snapshots()
        boundaries = snapshots[0]["boundaries"] if snapshots else []
        requests: dict[tuple[str, ...], _Hist] = {}
        phases: dict[tuple[str, ...], _Hist] = {}
        retries: dict[tuple[str, ...], int] = {}
        resends: dict[tuple[str, ...], int] = {}
        transitions: dict[tuple[str, ...], int] = {}
        states: dict[str, str] = {}
        connections: dict[tuple[str, ...], int] = {}
        key: tuple[str, ...]
        for snap in snapshots:
            for r in snap["requests"]:
                key = (
                    r["method"],
                    r["scheme"],
                    r["server_address"],
                    str(r["server_port"]),
                    str(r["status_code"]) if r["status_code"] else "",
                    r["error_type"] or "",
                )
                _add(requests, key, r)
            for p in snap["phases"]:
                key = (p["phase"], p["scheme"], p["server_address"], str(p["server_port"]))
                _add(phases, key, p)
            for entry in snap["retries"]:
                key = (entry["server_address"], entry["reason"])
                retries[key] = retries.get(key, 0) + entry["count"]
            for entry in snap["resends"]:
                key = (entry["server_address"], entry["reason"])
                resends[key] = resends.get(key, 0) + entry["count"]
            for entry in snap["breaker_transitions"]:
                key = (entry["key"], entry["state"])
                transitions[key] = transitions.get(key, 0) + entry["count"]
            states.update(snap["circuit_states"])
            for c in snap["connections"]:
                where = (c["scheme"], c["server_address"], str(c["server_port"]))
                for state in ("active", "idle"):
                    value = c["idle"] if state == "idle" else c["open"] - c["idle"]
                    connections[(*where, state)] = connections.get((*where, state), 0) + value

        yield _histogram_family(
            "request_duration_seconds",
            "Duration of HTTP client requests (each attempt), as the engine measured it.",
            ["method", "scheme", "server_address", "server_port", "status_code", "error_type"],
            requests,
            boundaries,
        )
        yield _histogram_family(
            "phase_duration_seconds",
            "Duration of the phases of HTTP client requests (dns, connect and tls only for "
            "new connections).",
            ["phase", "scheme", "server_address", "server_port"],
            phases,
            boundaries,
        )
        for name, doc, labels, values in (
            ("retries", "Retries of HTTP client requests.", ["server_address", "reason"], retries),
            (
                "resends",
                "Requests libcurl sent again on a new connection (a reused one had died).",
                ["server_address", "reason"],
                resends,
            ),
            (
                "circuit_transitions",
                "Circuit breaker transitions, by the state moved to.",
                ["key", "state"],
                transitions,
            ),
        ):
            counter = CounterMetricFamily(_PREFIX + name, doc, labels=labels)
            for labels_of, count in sorted(values.items()):
                counter.add_metric(list(labels_of), count)
            yield counter
        gauge = GaugeMetricFamily(
            _PREFIX + "circuit_state",
            "Circuit breaker state (1 for the current one).",
            labels=["key", "state"],
        )
        for circuit, current in sorted(states.items()):
            for state in _STATES:
                gauge.add_metric([circuit, state], 1 if state == current else 0)
        yield gauge
        open_connections = GaugeMetricFamily(
            _PREFIX + "open_connections",
            "Open HTTP client connections, with a request in flight (active) or not (idle).",
            labels=["scheme", "server_address", "server_port", "state"],
        )
        for labels_of, count in sorted(connections.items()):
            open_connections.add_metric(list(labels_of), count)
        yield open_connections


def _add(into: dict[tuple[str, ...], _Hist], key: tuple[str, ...], entry: dict[str, Any]) -> None:
    hist = into.get(key)
    if hist is None:
        into[key] = [list(entry["buckets"]), entry["sum"]]
        return
    hist[0] = [a + b for a, b in zip(hist[0], entry["buckets"])]
    hist[1] += entry["sum"]


def _histogram_family(
    name: str,
    doc: str,
    labels: list[str],
    values: dict[tuple[str, ...], _Hist],
    boundaries: list[float],
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(_PREFIX + name, doc, labels=labels)
    for labels_of, (buckets, total) in sorted(values.items()):
        cumulative = []
        running = 0
        for bound, count in zip([*map(_bound, boundaries), "+Inf"], buckets):
            running += count
            cumulative.append((bound, running))
        family.add_metric(list(labels_of), cumulative, total)
    return family
