"""Process-level checks of the asyncio engine, each in a fresh interpreter so
that nothing else (pytest, the test servers) shares the process. Prints one
JSON line.

Usage: python async_process_check.py SCENARIO BASE_URL
  fds      open file descriptors (/proc/self/fd) before and after creating and
           closing many AsyncSessions (with a request, a cancelled request,
           a timed-out request) and after many event loops
  idle     CPU time (time.process_time) used over 1 s of idleness after
           requests: in a running loop with pooled connections, and outside
  threads  the number of OS threads before and after async requests from
           several event loops in several threads
  fork     use AsyncSession, fork; the child makes async requests with a new
           loop (a new session, the module functions, and the parent's
           session) and exits; then the parent makes requests again
  fork_busy  fork 10 times while another thread keeps async requests in
           flight (the engine thread is busy at the moment of each fork);
           each child makes requests with a new AsyncSession (5 s alarm)
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sys
import threading
import time

import requestx


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


async def settle(predicate, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        gc.collect()
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------------------


def scenario_fds(base: str) -> dict:
    out: dict = {}

    async def warm() -> None:
        async with requestx.AsyncSession() as s:
            assert (await s.get(base + "/ok")).status_code == 200

    async def sessions(n: int, baseline: int) -> int:
        for _ in range(n):
            async with requestx.AsyncSession() as s:
                r = await s.get(base + "/ok")
                assert r.text == "ok\n"
        await settle(lambda: fd_count() <= baseline + 2)
        return fd_count()

    async def cancelled(n: int, baseline: int) -> int:
        for _ in range(n):
            async with requestx.AsyncSession() as s:
                task = asyncio.ensure_future(s.get(base + "/stall-headers"))
                await asyncio.sleep(0.01)
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        await settle(lambda: fd_count() <= baseline + 2)
        return fd_count()

    async def timed_out(n: int, baseline: int) -> int:
        for _ in range(n):
            async with requestx.AsyncSession() as s:
                try:
                    await s.get(base + "/stall-headers", timeout=0.01)
                except requestx.ReadTimeout:
                    pass
        await settle(lambda: fd_count() <= baseline + 2)
        return fd_count()

    async def streamed(n: int, baseline: int) -> int:
        for _ in range(n):
            async with requestx.AsyncSession() as s:
                async with s.stream("GET", base + "/big?size=4000000") as r:
                    await r.aiter_content(1000).__anext__()
        await settle(lambda: fd_count() <= baseline + 2)
        return fd_count()

    asyncio.run(warm())
    gc.collect()
    out["baseline"] = fd_count()

    async def main() -> None:
        # a running loop has its own fds (selector, self-pipe, the port)
        await warm()
        baseline = fd_count()
        out["loop_baseline"] = baseline
        out["after_200_sessions"] = await sessions(200, baseline)
        out["after_50_cancelled"] = await cancelled(50, baseline)
        out["after_50_timed_out"] = await timed_out(50, baseline)
        out["after_50_streams_closed_early"] = await streamed(50, baseline)

    asyncio.run(main())
    gc.collect()
    out["after_first_loops"] = fd_count()
    for _ in range(50):
        asyncio.run(warm())
    gc.collect()
    time.sleep(0.2)
    gc.collect()
    out["after_50_loops"] = fd_count()
    return out


def scenario_idle(base: str) -> dict:
    out: dict = {}

    async def main() -> None:
        async with requestx.AsyncSession() as s:
            rs = await asyncio.gather(*(s.get(base + "/ok") for _ in range(20)))
            assert all(r.status_code == 200 for r in rs)
            try:
                await s.get(base + "/stall-headers", timeout=0.05)
            except requestx.ReadTimeout:
                pass
            await asyncio.sleep(0.2)
            start_cpu, start = time.process_time(), time.monotonic()
            await asyncio.sleep(1.0)  # the loop idles; pooled connections stay open
            out["in_loop_cpu"] = time.process_time() - start_cpu
            out["in_loop_wall"] = time.monotonic() - start

    asyncio.run(main())
    time.sleep(0.2)
    start_cpu, start = time.process_time(), time.monotonic()
    time.sleep(1.0)
    out["outside_cpu"] = time.process_time() - start_cpu
    out["outside_wall"] = time.monotonic() - start
    return out


def scenario_threads(base: str) -> dict:
    out = {"before": thread_count()}

    def worker(results: list) -> None:
        async def main() -> None:
            async with requestx.AsyncSession() as s:
                rs = await asyncio.gather(*(s.get(base + "/ok") for _ in range(10)))
                results.extend(r.status_code for r in rs)

        asyncio.run(main())

    results: list = []
    worker(results)
    out["after_first_use"] = thread_count()
    threads = [threading.Thread(target=worker, args=(results,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # a joined thread's OS task may linger for a moment
    deadline = time.monotonic() + 3
    while thread_count() > out["after_first_use"] and time.monotonic() < deadline:
        time.sleep(0.02)
    out["after_4_threads"] = thread_count()
    out["ok"] = results.count(200)
    return out


def scenario_fork(base: str) -> dict:
    out: dict = {}
    session = requestx.AsyncSession()

    async def parent_before() -> None:
        r = await session.get(base + "/conn-id")
        out["parent_conn"] = r.text.split()[0]
        r = await requestx.get(base + "/conn-id")
        out["parent_module_conn"] = r.text.split()[0]

    asyncio.run(parent_before())
    time.sleep(0.1)  # let the engine thread finish closing the module call's session
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        child: dict = {}
        status = 1
        try:

            async def child_main() -> None:
                async with requestx.AsyncSession() as s:
                    rs = await asyncio.gather(*(s.get(base + "/ok") for _ in range(20)))
                    child["new_session_ok"] = sum(r.status_code == 200 for r in rs)
                    try:
                        await s.get(base + "/stall-headers", timeout=0.2)
                    except requestx.ReadTimeout:
                        child["timeout"] = "ReadTimeout"
                r = await asyncio.wait_for(requestx.get(base + "/conn-id"), 5)
                child["module_conn"] = r.text.split()[0]
                r = await asyncio.wait_for(session.get(base + "/conn-id"), 5)
                child["inherited_session_conn"] = r.text.split()[0]

            asyncio.run(child_main())
            status = 0
        except BaseException as e:  # report whatever went wrong
            child["error"] = repr(e)
        finally:
            os.write(write_end, json.dumps(child).encode())
            os.close(write_end)
        sys.exit(status)
    os.close(write_end)
    chunks = []
    while True:
        data = os.read(read_end, 65536)
        if not data:
            break
        chunks.append(data)
    os.close(read_end)
    _, wait_status = os.waitpid(pid, 0)
    out["child_exit"] = os.waitstatus_to_exitcode(wait_status)
    out["child"] = json.loads(b"".join(chunks) or b"{}")

    async def parent_after() -> None:
        r = await session.get(base + "/conn-id")
        out["parent_conn_after"] = r.text.split()[0]
        rs = await asyncio.gather(*(session.get(base + "/ok") for _ in range(20)))
        out["parent_ok_after"] = sum(r.status_code == 200 for r in rs)
        out["parent_module_after"] = (await requestx.get(base + "/ok")).status_code
        await session.close()

    asyncio.run(parent_after())
    return out


def scenario_fork_busy(base: str) -> dict:
    stop = threading.Event()
    busy_ok: list = []

    def busy() -> None:
        async def main() -> None:
            async with requestx.AsyncSession() as s:
                while not stop.is_set():
                    rs = await asyncio.gather(*(s.get(base + "/ok") for _ in range(20)))
                    busy_ok.append(all(r.status_code == 200 for r in rs))

        asyncio.run(main())

    thread = threading.Thread(target=busy)
    thread.start()
    time.sleep(0.2)
    exits = []
    for _ in range(10):
        pid = os.fork()
        if pid == 0:
            signal.alarm(5)  # a deadlocked child dies of SIGALRM

            async def child() -> bool:
                async with requestx.AsyncSession() as s:
                    rs = await asyncio.gather(*(s.get(base + "/ok") for _ in range(5)))
                    return all(r.text == "ok\n" for r in rs)

            try:
                ok = asyncio.run(child())
            except BaseException:
                ok = False
            os._exit(0 if ok else 3)
        _, wait_status = os.waitpid(pid, 0)
        exits.append(os.waitstatus_to_exitcode(wait_status))
        time.sleep(0.01)
    stop.set()
    thread.join()
    return {"child_exits": exits, "parent_batches_ok": all(busy_ok), "batches": len(busy_ok)}


if __name__ == "__main__":
    name, base_url = sys.argv[1], sys.argv[2]
    print(json.dumps(globals()[f"scenario_{name}"](base_url)))
