"""``stats=True``: the engine's aggregates as a plain snapshot.

The engine keeps the numbers (requestx/_engine/stats.h): it updates them
where each transfer ends, from the libcurl timings it reads anyway, with no
Python work per request. This module makes the Stats object of a session or
transport, remembers every owner in a WeakSet (what
``RequestxCollector(sessions=None)`` reads), and turns ``Stats.snapshot()``
into the dict ``session.stats()`` returns::

    {
      "boundaries": [0.005, ..., 10.0],      # seconds; the buckets' upper bounds
      "requests": [{"origin", "scheme", "server_address", "server_port",
                    "method", "status_code", "error_type",
                    "count", "sum", "buckets"}, ...],
      "phases": [{"origin", "scheme", "server_address", "server_port",
                  "phase", "count", "sum", "buckets"}, ...],
      "retries": [{"origin", ..., "reason", "count"}, ...],
      "resends": [{"origin", ..., "reason", "count"}, ...],
      "breaker_transitions": [{"key", "state", "count"}, ...],
      "circuit_states": {key: "closed" | "open" | "half_open"},
      "connections": [{"origin", ..., "open", "active", "idle"}, ...],
    }

``buckets`` has one count per boundary and a last one for larger values,
each counting only its own range (not cumulative). ``status_code`` is 0 and
``error_type`` the exception's (requestx.exceptions.ERROR_TYPES) for a
request that got no response. Phases: ``queue`` (the wait for a connection
slot), ``dns``, ``connect``, ``tls`` (those three only for requests that
opened a connection), ``first_byte`` (from the request sent to the first
response byte). ``idle`` connections are the open ones without a transfer
in flight (on HTTP/2 several transfers share one).
"""

from __future__ import annotations

import weakref
from typing import Any, Optional, TypedDict

from .. import _engine
from ..exceptions import from_transfer_error

__all__ = ["Snapshot", "new_stats", "owners", "snapshot"]

PHASES = ("queue", "dns", "connect", "tls", "first_byte")
_STATES = ("closed", "open", "half_open")


class Snapshot(TypedDict):
    """What ``session.stats()`` returns (see the module docstring)."""

    boundaries: list[float]
    requests: list[dict[str, Any]]
    phases: list[dict[str, Any]]
    retries: list[dict[str, Any]]
    resends: list[dict[str, Any]]
    breaker_transitions: list[dict[str, Any]]
    circuit_states: dict[str, str]
    connections: list[dict[str, Any]]


# Sessions and transports made with stats=True, while they live.
owners: weakref.WeakSet[Any] = weakref.WeakSet()


def new_stats(owner: Any, max_origins: int = 1000) -> _engine.Stats:
    """The engine Stats of ``owner`` (a session or transport), remembered."""
    stats = _engine.Stats(max_origins)
    owners.add(owner)
    return stats


# (CURLcode, phase) -> error_type, as requestx.exceptions maps a failure.
_ERROR_TYPES: dict[tuple[int, int], str] = {}


def error_type(code: int, phase: int) -> Optional[str]:
    """The error_type of a failure (CURLcode, phase); None for CURLE_OK."""
    if code == 0:
        return None
    known = _ERROR_TYPES.get((code, phase))
    if known is None:
        exc = from_transfer_error(_engine.TransferError(code, "", phase))
        known = _ERROR_TYPES[code, phase] = exc.error_type
    return known


def _origin_labels(name: str) -> dict[str, Any]:
    """origin, scheme, server_address and server_port of an origin name."""
    scheme, sep, rest = name.partition("://")
    if not sep:  # "_other"
        return {"origin": name, "scheme": "", "server_address": name, "server_port": 0}
    host, _, port = rest.rpartition(":")
    return {
        "origin": name,
        "scheme": scheme,
        "server_address": host.strip("[]"),
        "server_port": int(port) if port.isdigit() else 0,
    }


def _histogram(hist: tuple[int, float, tuple[int, ...]]) -> dict[str, Any]:
    count, total, buckets = hist
    return {"count": count, "sum": total, "buckets": list(buckets)}


def snapshot(stats: _engine.Stats) -> Snapshot:
    """``stats.snapshot()`` with names (see the module docstring)."""
    raw = stats.snapshot()
    origins = [_origin_labels(entry[0]) for entry in raw["origins"]]
    out: Snapshot = {
        "boundaries": list(raw["bounds"]),
        "requests": [],
        "phases": [],
        "retries": [],
        "resends": [],
        "breaker_transitions": [],
        "circuit_states": {},
        "connections": [],
    }
    for labels, (_, open_, active, phases) in zip(origins, raw["origins"]):
        for phase, hist in zip(PHASES, phases):
            if hist[0]:
                out["phases"].append({**labels, "phase": phase, **_histogram(hist)})
        out["connections"].append(
            {**labels, "open": open_, "active": active, "idle": max(open_ - active, 0)}
        )
    # the engine keeps failures by CURLcode and phase; several of those may
    # be one error_type, whose series are added together here
    requests: dict[tuple[Any, ...], dict[str, Any]] = {}
    for origin, method, status, code, phase, hist in raw["series"]:
        kind = error_type(code, phase)
        entry = requests.get((origin, method, status, kind))
        if entry is None:
            requests[origin, method, status, kind] = {
                **origins[origin],
                "method": method,
                "status_code": status,
                "error_type": kind,
                **_histogram(hist),
            }
            continue
        entry["count"] += hist[0]
        entry["sum"] += hist[1]
        entry["buckets"] = [a + b for a, b in zip(entry["buckets"], hist[2])]
    out["requests"] = list(requests.values())
    for kind, origin, label, value in raw["counters"]:
        labels = origins[origin]
        if kind == _engine.STAT_RETRY:
            out["retries"].append({**labels, "reason": label, "count": value})
        elif kind == _engine.STAT_RESEND:
            out["resends"].append({**labels, "reason": label, "count": value})
        elif kind == _engine.STAT_TRANSITION:
            out["breaker_transitions"].append(
                {"key": labels["origin"], "state": label, "count": value}
            )
        elif kind == _engine.STAT_STATE:
            out["circuit_states"][labels["origin"]] = _STATES[value] if 0 <= value < 3 else "closed"
    return out
