"""Reference leaks: each scenario runs a few thousand times in a fresh
interpreter and must not leave Python objects behind. A leak of one object per
request would show as thousands of blocks; caches and pools are warmed first."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import requestx

SCRIPT = os.path.join(os.path.dirname(__file__), "isolated", "leak_check.py")
ROUNDS = 2000
ALLOWED_BLOCKS = 200  # well under one block per request

SCENARIOS = [
    "get",
    "post_bytes",
    "post_generator",
    "stream_read_all",
    "stream_abandon",
    "refused",
    "broken_body",
    "redirect_with_cookie",
    "bad_header",
    "async_get",
    "async_redirect",
    "async_refused",
    "async_cancelled",
    "async_unawaited",
    "async_stream_broken",
    "stats_get",
    "stats_refused",
    "stats_stream",
    "async_stats_get",
]


def _assert_no_leak(scenario: str, url: str, rounds: int) -> None:
    """Run ``scenario`` ``rounds`` times in a child (isolated/leak_check.py)
    and check the blocks it left behind."""
    out = subprocess.run(
        [sys.executable, SCRIPT, scenario, url, str(rounds)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    leaked = int(out.stdout.strip().splitlines()[-1])
    assert leaked < ALLOWED_BLOCKS, f"{scenario}: {leaked} blocks left after {rounds} rounds"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_reference_leak(fault_server, scenario):
    slow = ("stream_abandon", "refused", "async_refused", "async_cancelled", "stats_refused")
    rounds = ROUNDS // 4 if scenario in slow else ROUNDS
    _assert_no_leak(scenario, fault_server.url, rounds)


WS_SCENARIOS = [
    "ws_echo",
    "ws_ping",
    "ws_connect_close",
    "ws_closed_by_server",
    "ws_refused",
    "async_ws_echo",
    "async_ws_connect_close",
]


@pytest.mark.skipif(
    "websockets" not in requestx.curl_features(), reason="this libcurl has no WebSocket support"
)
@pytest.mark.parametrize("scenario", WS_SCENARIOS)
def test_no_websocket_reference_leak(ws_server, scenario):
    rounds = ROUNDS // 4 if "connect" in scenario or "refused" in scenario else ROUNDS
    rounds = rounds // 2 if "closed" in scenario else rounds
    _assert_no_leak(scenario, ws_server.url, rounds)
