"""The worker: one client, one task, one fresh process.

``bench.py`` runs ``<peer's python> benchmarks/workload.py <adapter> '<task json>'``
for every measurement.  The worker imports only the peer's adapter
(``adapters/<peer>.py``) and the standard library, runs the task and prints
one JSON line (harness.worker_reply).  The task's ``mode`` picks the loop:

    seq       one request at a time through one sync session
    threads   ``concurrency`` threads share one sync session (or each has its
              own, where the peer's docs say sessions are not thread-safe)
    async     ``concurrency`` asyncio tasks share one async session, each doing
              requests back to back
    gather    ``n`` requests started at once, awaited with one asyncio.gather
    sse       one stream of events, sync or async (``api``)
    download  one large body read in pieces, sync or async (``api``)
    upload    one large request body, from a file object or a generator

A task with a ``transport`` (a transport scenario) passes it on to the
adapter's ``open_sync`` / ``open_async``.

Figures: requests (or events, bytes) per second over the timed part,
latency percentiles of single requests, CPU seconds (user + system, all
threads of the process) per 1,000 requests, and the process's peak RSS.
Every response's status and body length are checked; a wrong one ends the
run with an error naming the client.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import BenchError, worker_reply  # noqa: E402

MB = 1e6


def rss_now_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def peak_rss_mb() -> float:
    """The process's peak RSS (VmHWM).  Not ru_maxrss: Linux carries that
    over execve from the parent, so it would report the benchmark's own."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MB
    raise BenchError("no VmHWM in /proc/self/status")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values: list, q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


class Check:
    """Counts responses whose status or body length is wrong."""

    def __init__(self, client: str, expect_len: int) -> None:
        self.client, self.expect_len = client, expect_len
        self.bad = 0
        self.first_bad = None

    def __call__(self, status, length: int) -> None:
        if status != 200 or length != self.expect_len:
            self.bad += 1
            if self.first_bad is None:
                self.first_bad = (status, length)

    def raise_if_bad(self, total: int) -> None:
        if self.bad:
            status, length = self.first_bad
            raise BenchError(
                f"{self.client}: {self.bad} of {total} responses were wrong; first: status "
                f"{status!r} with {length} body bytes (expected 200 with {self.expect_len})"
            )


def summary(count: int, elapsed: float, cpu: float, latencies_ns: list) -> dict:
    latencies_ns.sort()
    us = [percentile(latencies_ns, q) / 1000.0 for q in (0.5, 0.95, 0.99)]
    return {
        "requests": count,
        "seconds": elapsed,
        "rps": count / elapsed,
        "p50_us": us[0],
        "p95_us": us[1],
        "p99_us": us[2],
        "cpu_s_per_1k": 1000.0 * cpu / count,
        "peak_rss_mb": peak_rss_mb(),
    }


# ---------------------------------------------------------------------------
# Sync: one thread, or several sharing the session.
# ---------------------------------------------------------------------------


def variant(task: dict) -> dict:
    """Extra keywords for the adapter's open_sync / open_async: the transport
    of a transport scenario (adapters/httpx_transports.py)."""
    return {"transport": task["transport"]} if task.get("transport") else {}


def request_call(client, task: dict):
    """A function doing the task's request once: () -> (status, body length)."""
    url = task["url"]
    if task["method"] == "POST":
        body = bytes(task["body_size"])
        return lambda: client.post(url, body)
    return lambda: client.get(url)


def timed_loop(call, check: Check, deadline: float, latencies: list) -> int:
    """Requests back to back until ``deadline``; returns how many."""
    clock = time.perf_counter_ns
    end = int(deadline * 1e9)
    count = 0
    while True:
        start = clock()
        status, length = call()
        now = clock()
        latencies.append(now - start)
        check(status, length)
        count += 1
        if now >= end:
            return count


def warm_up(call, check: Check, seconds: float) -> None:
    status, length = call()
    check(status, length)
    check.raise_if_bad(1)
    timed_loop(call, check, time.perf_counter() + seconds, [])


def run_seq(adapter, task: dict, check: Check) -> dict:
    client = adapter.open_sync(pool=1, http2=task["http2"], **variant(task))
    call = request_call(client, task)
    warm_up(call, check, task["warmup"])
    latencies: list = []
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    count = timed_loop(call, check, t0 + task["seconds"], latencies)
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    check.raise_if_bad(count)
    client.close()
    return {**summary(count, elapsed, cpu, latencies), "setup": client.setup}


def run_threads(adapter, task: dict, check: Check) -> dict:
    n = task["concurrency"]
    shared = getattr(adapter, "SYNC_SESSION_THREAD_SAFE", True)
    if shared:
        clients = [adapter.open_sync(pool=n, http2=task["http2"])] * n
    else:
        clients = [adapter.open_sync(pool=1, http2=task["http2"]) for _ in range(n)]
    calls = [request_call(c, task) for c in clients]
    for call in calls:
        warm_up(call, check, task["warmup"] / n)
    results = [[] for _ in range(n)]
    counts = [0] * n
    barrier = threading.Barrier(n + 1)
    deadline = [0.0]

    def worker(i):
        barrier.wait()
        counts[i] = timed_loop(calls[i], check, deadline[0], results[i])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    deadline[0] = t0 + task["seconds"]
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    count = sum(counts)
    check.raise_if_bad(count)
    for client in {id(c): c for c in clients}.values():
        client.close()
    setup = clients[0].setup
    if not shared:
        setup += f" -- one per thread ({adapter.NAME}'s sessions are not thread-safe)"
    latencies = [x for part in results for x in part]
    return {**summary(count, elapsed, cpu, latencies), "setup": setup}


# ---------------------------------------------------------------------------
# Async: tasks sharing one session; everything gathered at once.
# ---------------------------------------------------------------------------


def run_in_loop(coro_fn) -> tuple:
    """Run ``coro_fn()`` on uvloop when it is installed (every peer gets the
    same loop), else on asyncio's; returns (result, loop description)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro_fn()), f"asyncio {sys.version.split()[0]}"
    return uvloop.run(coro_fn()), f"uvloop {uvloop.__version__}"


async def async_loop(call, check: Check, deadline: float, tasks: int, latencies: list) -> int:
    clock = time.perf_counter_ns
    end = int(deadline * 1e9)
    counts = [0]

    async def worker():
        while True:
            start = clock()
            status, length = await call()
            now = clock()
            latencies.append(now - start)
            check(status, length)
            counts[0] += 1
            if now >= end:
                return

    await asyncio.gather(*(worker() for _ in range(tasks)))
    return counts[0]


async def run_async(adapter, task: dict, check: Check) -> dict:
    n = task["concurrency"]
    client = await adapter.open_async(pool=n, http2=task["http2"], **variant(task))
    call = request_call(client, task)
    status, length = await call()
    check(status, length)
    check.raise_if_bad(1)
    await async_loop(call, check, time.perf_counter() + task["warmup"], n, [])
    latencies: list = []
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    count = await async_loop(call, check, t0 + task["seconds"], n, latencies)
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    check.raise_if_bad(count)
    await client.close()
    return {**summary(count, elapsed, cpu, latencies), "setup": client.setup}


async def run_gather(adapter, task: dict, check: Check) -> dict:
    client = await adapter.open_async(pool=task["concurrency"], http2=task["http2"])
    call = request_call(client, task)
    status, length = await call()
    check(status, length)
    check.raise_if_bad(1)
    latencies: list = []
    clock = time.perf_counter_ns

    async def one():
        start = clock()
        status, length = await call()
        latencies.append(clock() - start)
        check(status, length)

    rss_before = rss_now_mb()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(task["n"]))), task["timeout"])
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    check.raise_if_bad(task["n"])
    await client.close()
    result = summary(task["n"], elapsed, cpu, latencies)
    return {**result, "rss_before_mb": rss_before, "setup": client.setup}


# ---------------------------------------------------------------------------
# Streams: SSE, large downloads and uploads.
# ---------------------------------------------------------------------------


def run_stream(adapter, task: dict, check: Check) -> dict:
    """One SSE stream or download; the figure is items (events or bytes) per
    second, and the RSS growth over the transfer."""
    func = getattr(adapter, f"{task['mode']}_{task['api']}")
    if task["api"] == "async":
        run = lambda: run_in_loop(lambda: func(task["url"]))[0]  # noqa: E731
    else:
        run = lambda: func(task["url"])  # noqa: E731
    rss_before = rss_now_mb()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    items = run()
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    if items != task["expect_items"]:
        raise BenchError(
            f"{task['client']}: got {items:,} items, expected {task['expect_items']:,}"
        )
    return {
        "items": items,
        "seconds": elapsed,
        "per_s": items / elapsed,
        "cpu_s": cpu,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before,
        "rss_growth_mb": peak_rss_mb() - rss_before,
    }


def run_upload(adapter, task: dict, check: Check) -> dict:
    size = task["body_size"]
    client = adapter.open_sync(pool=1, http2=False)
    status, length = client.get(task["url"].replace("/upload", "/ping"))  # connect first
    rss_before = rss_now_mb()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    if task["source"] == "file":
        with open(task["file"], "rb") as f:
            status, length = client.post(task["url"], f)
    else:
        piece = bytes(1 << 16)

        def pieces():
            for _ in range(size // len(piece)):
                yield piece

        status, length = client.post(task["url"], pieces())
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    check(status, length)
    check.raise_if_bad(1)
    client.close()
    return {
        "items": size,
        "seconds": elapsed,
        "per_s": size / elapsed,
        "cpu_s": cpu,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before,
        "rss_growth_mb": peak_rss_mb() - rss_before,
        "setup": client.setup,
    }


def run_task(adapter_name: str, task: dict) -> dict:
    adapter = importlib.import_module(f"adapters.{adapter_name}")
    check = Check(task["client"], task.get("expect_len", 0))
    mode = task["mode"]
    if mode == "seq":
        result = run_seq(adapter, task, check)
    elif mode == "threads":
        result = run_threads(adapter, task, check)
    elif mode in ("async", "gather"):
        runner = run_async if mode == "async" else run_gather
        result, loop = run_in_loop(lambda: runner(adapter, task, check))
        result["loop"] = loop
    elif mode in ("sse", "download"):
        result = run_stream(adapter, task, check)
    elif mode == "upload":
        result = run_upload(adapter, task, check)
    else:
        raise BenchError(f"unknown mode {mode!r}")
    result["version"] = adapter.version()
    return result


def capabilities(adapter_name: str) -> dict:
    """What the adapter can run (see adapters/__init__.py), and its version."""
    adapter = importlib.import_module(f"adapters.{adapter_name}")
    names = ("sse_sync", "sse_async", "download_sync", "download_async")
    return {
        "version": adapter.version(),
        "sync": hasattr(adapter, "open_sync"),
        "async": hasattr(adapter, "open_async"),
        "streams": [name for name in names if hasattr(adapter, name)],
        "unsupported": getattr(adapter, "UNSUPPORTED", {}),
    }


def main(argv: list) -> int:
    adapter_name, task = argv[0], json.loads(argv[1])
    if task.get("probe"):
        return worker_reply(capabilities, adapter_name)
    return worker_reply(run_task, adapter_name, task)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
