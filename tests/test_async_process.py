"""The asyncio engine in the process: several event loops in several threads at
once, uvloop, fork(), file descriptors, one engine thread, and no CPU used
while idle. The process-wide checks run in a fresh interpreter
(tests/isolated/async_process_check.py) against servers in this one."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from _helpers import parse_wire, token

import requestx
from requestx import exceptions as exc

SCRIPT = os.path.join(os.path.dirname(__file__), "isolated", "async_process_check.py")


def _check(scenario: str, base: str) -> dict:
    out = subprocess.run(
        [sys.executable, SCRIPT, scenario, base], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _in_threads(n: int, target) -> list:
    """Run target(i) in n threads started together; their results in order."""
    results: list = [None] * n
    errors: list = []
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


# ---------------------------------------------------------------------------
# several event loops in several threads
# ---------------------------------------------------------------------------


def test_four_loops_in_four_threads_with_their_own_sessions(fault_server):
    tok = token()

    def worker(i):
        async def main():
            # 4 x 16 connections at most: below the fault server's listen backlog
            async with requestx.AsyncSession(max_connections=16) as s:
                urls = [fault_server + f"/echo-head?t={tok}&w={i}&n={n}" for n in range(50)]
                rs = await asyncio.gather(*(s.get(u) for u in urls))
                return [parse_wire(r.content).target for r in rs]

        return asyncio.run(main())

    results = _in_threads(4, worker)
    for i, targets in enumerate(results):
        assert targets == [f"/echo-head?t={tok}&w={i}&n={n}" for n in range(50)]
    assert len(fault_server.requests_with(tok)) == 200


def test_one_session_used_by_loops_in_several_threads(fault_server):
    tok = token()
    session = requestx.AsyncSession(max_connections=8)

    def worker(i):
        async def main():
            urls = [fault_server + f"/echo-head?t={tok}&w={i}&n={n}" for n in range(50)]
            rs = await asyncio.gather(*(session.get(u) for u in urls))
            return [parse_wire(r.content).target for r in rs]

        return asyncio.run(main())

    try:
        results = _in_threads(4, worker)
    finally:
        asyncio.run(session.close())
    for i, targets in enumerate(results):
        assert targets == [f"/echo-head?t={tok}&w={i}&n={n}" for n in range(50)]


def test_module_functions_from_loops_in_several_threads(httpbin):
    def worker(i):
        async def main():
            rs = await asyncio.gather(
                *(requestx.get(httpbin + "/get", params={"w": i, "n": n}) for n in range(25))
            )
            return [r.json()["args"] for r in rs]

        return asyncio.run(main())

    results = _in_threads(4, worker)
    for i, args in enumerate(results):
        assert args == [{"w": str(i), "n": str(n)} for n in range(25)]


def test_sync_requests_and_a_loop_at_the_same_time(fault_server):
    def worker(i):
        if i == 0:
            with requestx.Session() as s:
                return [s.get(fault_server + f"/echo-head?sync={n}").status_code for n in range(50)]

        async def main():
            async with requestx.AsyncSession(max_connections=16) as s:
                rs = await asyncio.gather(
                    *(s.get(fault_server + f"/echo-head?async={n}") for n in range(50))
                )
                return [r.status_code for r in rs]

        return asyncio.run(main())

    assert _in_threads(2, worker) == [[200] * 50, [200] * 50]


def test_cancellation_in_one_loop_does_not_disturb_another(fault_server):
    def worker(i):
        async def main():
            async with requestx.AsyncSession() as s:
                if i == 0:
                    tasks = [
                        asyncio.ensure_future(s.get(fault_server + "/stall-headers"))
                        for _ in range(10)
                    ]
                    await asyncio.sleep(0.1)
                    for t in tasks:
                        t.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    return all(t.cancelled() for t in tasks)
                rs = await asyncio.gather(
                    *(s.get(fault_server + "/drip?n=3&interval=0.05") for _ in range(10))
                )
                return [r.content for r in rs] == [b"xxx"] * 10

        return asyncio.run(main())

    assert _in_threads(2, worker) == [True, True]


# ---------------------------------------------------------------------------
# uvloop
# ---------------------------------------------------------------------------


def _uvloop_run(coro):
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        loop = runner.get_loop()
        assert type(loop).__module__.startswith("uvloop")
        return runner.run(coro)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.Runner needs Python 3.11")
def test_uvloop_requests(httpbin):
    async def main():
        async with requestx.AsyncSession() as s:
            got = await s.get(httpbin + "/get", params={"a": "1"})
            posted = await s.post(httpbin + "/post", json={"k": "v"})
            many = await asyncio.gather(*(s.get(httpbin + f"/get?n={n}") for n in range(100)))
            module = await requestx.get(httpbin + "/get")
            return got, posted, many, module

    got, posted, many, module = _uvloop_run(main())
    assert got.json()["args"] == {"a": "1"}
    assert posted.json()["json"] == {"k": "v"}
    assert [r.json()["args"]["n"] for r in many] == [str(n) for n in range(100)]
    assert module.status_code == 200


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.Runner needs Python 3.11")
def test_uvloop_streaming_cancellation_and_timeouts(fault_server):
    tok = token()
    gate = fault_server.gate(tok)

    async def main():
        async with requestx.AsyncSession() as s:
            async with s.stream("GET", fault_server + f"/slow-chunks?gate={tok}") as r:
                chunks = r.aiter_content()
                first = await chunks.__anext__()
                gate.open()
                rest = b"".join([c async for c in chunks])
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(s.get(fault_server + "/stall-headers"), 0.2)
            with pytest.raises(exc.ReadTimeout):
                await s.get(fault_server + "/stall-headers", timeout=0.2)
            after = await s.get(fault_server + "/ok")
            return first, rest, after.text

    assert _uvloop_run(main()) == (b"alpha\nbeta\n", b"gamma\n", "ok\n")


# ---------------------------------------------------------------------------
# process-wide: fork, fds, engine thread, idle CPU
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fork_result(fault_server):
    return _check("fork", fault_server.url)


def test_fork_child_makes_async_requests_and_exits_0(fork_result):
    child = fork_result["child"]
    assert "error" not in child, child
    assert fork_result["child_exit"] == 0
    assert child["new_session_ok"] == 20
    assert child["timeout"] == "ReadTimeout"
    assert "module_conn" in child


def test_fork_parent_still_works(fork_result):
    assert fork_result["parent_ok_after"] == 20
    assert fork_result["parent_module_after"] == 200
    # the parent's pooled connection is still its own
    assert fork_result["parent_conn_after"] == fork_result["parent_conn"]


def test_fork_child_does_not_reuse_the_parents_connections(fork_result):
    """As with the sync Session: the child must not send on a socket it shares
    with the parent (both would read and write the same TCP stream)."""
    child = fork_result["child"]
    assert child["inherited_session_conn"] != fork_result["parent_conn"]
    assert child["module_conn"] != fork_result["parent_module_conn"]


def test_no_fd_leak_across_sessions_and_loops(fault_server):
    out = _check("fds", fault_server.url)
    bound = out["loop_baseline"] + 3
    assert out["after_200_sessions"] <= bound, out
    assert out["after_50_cancelled"] <= bound, out
    assert out["after_50_timed_out"] <= bound, out
    assert out["after_50_streams_closed_early"] <= bound, out
    assert out["after_50_loops"] <= out["baseline"] + 3, out


def test_one_engine_thread_per_process(fault_server):
    out = _check("threads", fault_server.url)
    assert out["ok"] == 50
    assert out["after_first_use"] == out["before"] + 1
    assert out["after_4_threads"] == out["after_first_use"]


def test_engine_thread_does_not_poll_when_idle(fault_server):
    out = _check("idle", fault_server.url)
    assert out["in_loop_wall"] >= 0.99 and out["outside_wall"] >= 0.99
    assert out["in_loop_cpu"] < 0.02, out
    assert out["outside_cpu"] < 0.02, out


def test_closing_a_session_does_not_wait_for_a_slow_server(fault_server):
    """close() returns at once even with a transfer stalled on the server."""

    async def main():
        s = requestx.AsyncSession()
        task = asyncio.ensure_future(s.get(fault_server + "/stall-headers", timeout=0.5))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await s.close()
        closed_in = time.monotonic() - started
        with pytest.raises(exc.ReadTimeout):
            await task
        return closed_in

    assert asyncio.run(main()) < 0.1


@pytest.mark.skipif(
    "libasan" in os.environ.get("LD_PRELOAD", ""),
    reason="ASan's allocator (GCC's libsanitizer) is not fork-safe: a child forked while "
    "another thread holds its lock deadlocks in malloc, whatever the code under test",
)
def test_fork_while_the_engine_is_busy(fault_server):
    """fork() while another thread has requests in flight: every child can
    still make async requests (no lock inherited in a locked state), and the
    parent's requests carry on."""
    out = _check("fork_busy", fault_server.url)
    assert out["child_exits"] == [0] * 10, out
    assert out["parent_batches_ok"] is True
    assert out["batches"] > 0
