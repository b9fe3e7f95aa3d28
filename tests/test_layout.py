"""How the two sessions are built: AsyncSession and Session are siblings over
a shared core, so AsyncSession is not a Session and carries none of the sync
Session's I/O (a sync redirect generator or hop that an AsyncSession caller
could run by mistake, blocking the event loop)."""

from __future__ import annotations

import asyncio
import inspect

import pytest

import requestx

# Session's sync I/O: each is either absent from AsyncSession or, for the
# names both faces may use, a coroutine function there.
ABSENT = ("resolve_redirects",)
NOT_SYNC = ("_send_hop", "_send")


@pytest.fixture
def async_session():
    if not hasattr(requestx, "AsyncSession"):
        pytest.skip("the package under test has no AsyncSession")
    s = requestx.AsyncSession()
    yield s
    asyncio.run(s.close())


def test_an_async_session_is_not_a_session(async_session):
    mro = [c.__qualname__ for c in type(async_session).__mro__]
    assert not isinstance(async_session, requestx.Session), f"AsyncSession's MRO: {mro}"


def test_the_two_sessions_share_a_base_class():
    if not hasattr(requestx, "AsyncSession"):
        pytest.skip("the package under test has no AsyncSession")
    shared = (set(requestx.Session.__mro__) & set(requestx.AsyncSession.__mro__)) - {object}
    assert shared, "Session and AsyncSession have no base class in common"


@pytest.mark.parametrize("name", ABSENT)
def test_async_session_has_no_sync_redirect_generator(async_session, name):
    assert not hasattr(async_session, name), (
        f"AsyncSession.{name} is {getattr(type(async_session), name, None)!r}"
    )


@pytest.mark.parametrize("name", NOT_SYNC)
def test_async_session_has_no_sync_hop(async_session, name):
    method = getattr(type(async_session), name, None)
    assert method is None or inspect.iscoroutinefunction(method), (
        f"AsyncSession.{name} is the sync {method.__qualname__}"
    )


def test_no_import_runs_up_a_layer(tmp_path):
    """scripts/draw_layers.py (make pictures) places every module in a band
    and exits 1 for an import from a lower band to a higher one."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "draw_layers.py"
    if not script.exists():
        pytest.skip("not a requestx checkout")
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "layers.svg")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "layers.svg").read_text().startswith("<svg")
