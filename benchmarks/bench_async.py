"""Async benchmark: 64 GETs in flight, and 10,000 GETs gathered at once.

Against a private nginx on 127.0.0.1 (see servers.py) serving a ~100-byte JSON
body at /json.  Two scenarios, compared in the same run:

A. Throughput: 64 workers share one client; each does sequential GETs until N
   requests are done in total (so 64 requests are in flight all the time),
   reading the status and the body of every response.  The client is limited
   to 64 connections:

       requestx  requestx.AsyncSession(max_connections=64)
       aiohttp   aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
       httpx     httpx.AsyncClient(limits=httpx.Limits(max_connections=64,
                                                       max_keepalive_connections=64))
       wrk       ``wrk -t1 -c64`` -- the practical limit of this server + machine

   Each Python client also runs on uvloop (``requestx-uvloop`` etc.); the
   plain names run on asyncio's default event loop.

B. Memory: 10,000 GETs started at once (10,000 tasks awaited with
   ``asyncio.gather``) through one client with its default connection limit
   (100 connections for all three); the peak RSS of the whole process
   (``ru_maxrss``) and the wall time are reported.

Every Python client runs in its own fresh subprocess (only its own library
imported), checks that its first response is status 200 with the exact body,
warms up, and checks the status and body length of every timed response.
Rounds are interleaved (each round runs every client once, in rotating order)
and the median of the rounds is reported.

Targets (from the issue): requestx >= 5x aiohttp's req/s in A; in B, requestx's
peak RSS < 60 MB and < half of aiohttp's.

    .venv/bin/python benchmarks/bench_async.py                  # full run (~3 min)
    .venv/bin/python benchmarks/bench_async.py --quick          # smoke test (~10 s)
    .venv/bin/python benchmarks/bench_async.py --clients requestx,aiohttp,wrk
    .venv/bin/python benchmarks/bench_async.py --check          # exit 1 if a target is missed

aiohttp, httpx and uvloop are pip-installed into the running interpreter's
environment if missing (``--no-install`` to refuse).  The markdown tables are
printed and written to benchmarks/results/async.md.
"""

# Peak RSS of the worker process is one of the measurements, so this module
# imports at the top only what the worker side needs (harness.py keeps to
# that too); modules that only the parent uses (subprocess, statistics,
# servers.py, ...) are imported in the functions that use them.
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
from harness import BenchError, fmt_int, fmt_ratio  # noqa: E402

# client name -> (library, event loop)
CLIENTS = {
    "requestx": ("requestx", "asyncio"),
    "aiohttp": ("aiohttp", "asyncio"),
    "httpx": ("httpx", "asyncio"),
    "requestx-uvloop": ("requestx", "uvloop"),
    "aiohttp-uvloop": ("aiohttp", "uvloop"),
    "httpx-uvloop": ("httpx", "uvloop"),
}
ALL_CLIENTS = (*CLIENTS, "wrk")
INSTALLABLE = ("aiohttp", "httpx", "uvloop")  # pip-installed when missing
DEFAULT_OUTPUT = HERE / "results" / "async.md"
CONCURRENCY = 64  # scenario A: workers = requests in flight = connection limit
GATHER = 10_000  # scenario B: requests gathered at once
RSS_LIMIT_MB = 60.0  # targets
SPEEDUP_TARGET = 5.0
RSS_SHARE_TARGET = 0.5
HANG_GRACE = 30.0  # seconds past --max-seconds before a run counts as hung
FIRST_TIMEOUT = 30.0  # seconds for the first response
MB = 1e6  # RSS is reported in MB = 10^6 bytes


# ---------------------------------------------------------------------------
# Worker side: runs in a fresh subprocess, one client per process.
#
# Each open_* coroutine creates one client inside the running loop and returns
# (fetch, close, setup): ``await fetch()`` does one GET of the URL and returns
# (status, body) with the body fully read, written the way each library's
# documentation shows it; ``await close()`` closes the client.
# ---------------------------------------------------------------------------


async def open_requestx(url: str, limit):
    import requestx

    if limit is None:
        session = requestx.AsyncSession()
    else:
        session = requestx.AsyncSession(max_connections=limit)

    async def fetch():
        r = await session.get(url)
        return r.status_code, r.content

    setup = f"AsyncSession(max_connections={session.max_connections})"
    return fetch, session.close, setup


async def open_aiohttp(url: str, limit):
    import aiohttp

    if limit is None:
        connector = aiohttp.TCPConnector()
    else:
        connector = aiohttp.TCPConnector(limit=limit)
    session = aiohttp.ClientSession(connector=connector)

    async def fetch():
        async with session.get(url) as r:
            return r.status, await r.read()

    setup = f"ClientSession(connector=TCPConnector(limit={connector.limit}))"
    return fetch, session.close, setup


async def open_httpx(url: str, limit):
    import httpx

    if limit is None:
        # Default limits (100 connections, 20 kept alive).  The default 5 s
        # timeout also bounds the wait for a free connection, which 10,000
        # queued requests exceed by design: only that pool wait is unbounded.
        client = httpx.AsyncClient(timeout=httpx.Timeout(5.0, pool=None))
        setup = "AsyncClient(timeout=Timeout(5.0, pool=None)) (default limits: 100 connections)"
    else:
        limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        client = httpx.AsyncClient(limits=limits)
        setup = f"AsyncClient(limits=Limits(max_connections={limit}, max_keepalive={limit}))"

    async def fetch():
        r = await client.get(url)
        return r.status_code, r.content

    return fetch, client.aclose, setup


OPENERS = {"requestx": open_requestx, "aiohttp": open_aiohttp, "httpx": open_httpx}


def library_version(library: str) -> str:
    if library == "requestx":
        return harness.requestx_version("AsyncSession")
    if library == "httpx":
        import h11
        import httpcore
        import httpx

        return f"{httpx.__version__} (httpcore {httpcore.__version__}, h11 {h11.__version__})"
    if library == "aiohttp":
        import aiohttp
        from aiohttp import http_parser

        compiled = http_parser.HttpResponseParser is not http_parser.HttpResponseParserPy
        return f"{aiohttp.__version__} ({'C' if compiled else 'pure-Python'} parser)"
    module = __import__(library)
    return getattr(module, "__version__", "?")


def loop_description() -> str:
    loop = asyncio.get_running_loop()
    cls = type(loop)
    if cls.__module__.startswith("uvloop"):
        import uvloop

        return f"uvloop {uvloop.__version__}"
    return f"asyncio {cls.__name__}"


def run_in_loop(loop_kind: str, coro):
    if loop_kind == "uvloop":
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


def rss_now_kb() -> int:
    """Resident set size right now, in KiB (Linux)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_rss_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


async def first_check(client: str, fetch, expect: bytes) -> None:
    try:
        status, body = await asyncio.wait_for(fetch(), FIRST_TIMEOUT)
    except asyncio.TimeoutError:
        raise BenchError(
            f"{client}: no response to the first request within {FIRST_TIMEOUT:g}s"
        ) from None
    if status != 200 or bytes(body) != expect:
        raise BenchError(
            f"{client}: first response was status {status!r} with body {bytes(body)[:200]!r} "
            f"({len(body)} bytes); expected 200 with {expect!r}"
        )


def _bad_responses(client: str, bad: list, count: int, what: str) -> BenchError:
    status, length, head = bad[0]
    return BenchError(
        f"{client}: {count} of {what} had a wrong status or body length; first: "
        f"status {status!r}, {length} body bytes, starting {head!r}"
    )


async def drive(client: str, fetch, total: int, workers: int, expect_len: int, limit: float):
    """``workers`` tasks doing sequential fetches until ``total`` are done (or
    ``limit`` seconds passed); returns the number of responses."""
    left = total
    done = 0
    bad = []

    async def worker():
        nonlocal left, done
        while left > 0:
            left -= 1
            status, body = await fetch()
            if status != 200 or len(body) != expect_len:
                bad.append((status, len(body), bytes(body[:80])))
            done += 1

    def stop():
        nonlocal left
        left = 0

    loop = asyncio.get_running_loop()
    timer = loop.call_later(limit, stop)
    tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
    try:
        _finished, pending = await asyncio.wait(tasks, timeout=limit + HANG_GRACE)
    finally:
        timer.cancel()
    if pending:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=5)
        raise BenchError(
            f"{client}: hung: {done} of {total} responses after {limit + HANG_GRACE:.0f}s, "
            f"{len(pending)} of {workers} workers still waiting for a response"
        )
    for task in tasks:
        exc = task.exception()
        if exc is not None:
            raise BenchError(
                f"{client}: a request raised {type(exc).__name__}: {exc} "
                f"(after {done} of {total} responses)"
            ) from exc
    if bad:
        raise _bad_responses(client, bad, len(bad), f"{done} responses")
    return done


async def throughput(client: str, args) -> dict:
    library, _loop = CLIENTS[client]
    expect = args.expect_body.encode("ascii")
    fetch, close, setup = await OPENERS[library](args.url, args.concurrency)
    try:
        await first_check(client, fetch, expect)
        if args.warmup > 1:
            await drive(client, fetch, args.warmup - 1, args.concurrency, len(expect), 60.0)
        cpu_start = time.process_time()  # user + system CPU of this process, all threads
        loop_cpu_start = time.thread_time()  # ... of the event loop's thread only
        start = time.perf_counter()
        done = await drive(client, fetch, args.n, args.concurrency, len(expect), args.max_seconds)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        loop_cpu = time.thread_time() - loop_cpu_start
    finally:
        await close()
    return {
        "requests": done,
        "seconds": elapsed,
        "rps": done / elapsed,
        "cpu_us": 1e6 * cpu / done,
        "loop_cpu_us": 1e6 * loop_cpu / done,
        "peak_rss_mb": peak_rss_kb() * 1024 / MB,
        "truncated": done < args.n,
        "setup": setup,
        "loop": loop_description(),
    }


async def memory(client: str, args) -> dict:
    library, _loop = CLIENTS[client]
    expect = args.expect_body.encode("ascii")
    fetch, close, setup = await OPENERS[library](args.url, None)  # default limits
    try:
        await first_check(client, fetch, expect)
        rss_before = rss_now_kb()
        cpu_start = time.process_time()
        start = time.perf_counter()
        tasks = [asyncio.ensure_future(fetch()) for _ in range(args.n)]
        try:
            results = await asyncio.wait_for(asyncio.gather(*tasks), args.max_seconds)
        except asyncio.TimeoutError:
            ok = sum(1 for t in tasks if t.done() and not t.cancelled() and not t.exception())
            raise BenchError(
                f"{client}: {args.n:,} gathered requests did not finish within "
                f"{args.max_seconds:g}s ({ok:,} had completed)"
            ) from None
        except Exception as exc:
            raise BenchError(f"{client}: a request raised {type(exc).__name__}: {exc}") from exc
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        peak = peak_rss_kb()
        bad = [
            (status, len(body), bytes(body[:80]))
            for status, body in results
            if status != 200 or len(body) != len(expect)
        ]
        if bad or len(results) != args.n:
            raise _bad_responses(client, bad or [(None, 0, b"")], len(bad), f"{args.n} responses")
        del results, tasks
    finally:
        await close()
    return {
        "requests": args.n,
        "seconds": elapsed,
        "rps": args.n / elapsed,
        "cpu_us": 1e6 * cpu / args.n,
        "peak_rss_mb": peak * 1024 / MB,
        "rss_before_mb": rss_before * 1024 / MB,
        "setup": setup,
        "loop": loop_description(),
    }


def worker_run(args) -> dict:
    library, loop_kind = CLIENTS[args.worker]
    version = library_version(library)
    scenario = throughput if args.scenario == "A" else memory
    result = run_in_loop(loop_kind, scenario(args.worker, args))
    result["version"] = version
    return result


def worker_main(args) -> int:
    if args.probe:
        return harness.worker_reply(lambda: {"version": library_version(args.probe)})
    return harness.worker_reply(worker_run, args)


# ---------------------------------------------------------------------------
# Parent side.
# ---------------------------------------------------------------------------


class ConnCounter:
    """Watches the TCP connections to nginx's port while a client runs (Linux).

    Asks the kernel for its TCP sockets over sock_diag netlink, as ``ss``
    does, and looks only at those whose destination is the port, i.e. the
    client ends of connections to this nginx (other activity on the machine
    does not count).  Sockets are told apart by their kernel cookie.  A
    connection the client closes stays listed for a minute in TIME_WAIT, so
    the cookies that appear across a run are the connections it opened.
    Counts are -1 where netlink is not available.
    """

    NETLINK_SOCK_DIAG = 4
    SOCK_DIAG_BY_FAMILY = 20
    NLM_F_REQUEST_DUMP = 0x1 | 0x300
    NLMSG_ERROR, NLMSG_DONE = 2, 3
    ESTABLISHED = 1 << 1
    ANY_BUT_LISTEN = 0xFFE & ~(1 << 10)  # TCP states 1..11 except LISTEN (10)

    def __init__(self, port: int) -> None:
        import socket
        import struct

        self.port = port
        self.struct = struct
        self.family, self.protocol = socket.AF_INET, socket.IPPROTO_TCP
        try:
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, self.NETLINK_SOCK_DIAG)
        except (AttributeError, OSError):
            self.sock = None
        if self.sock is not None and self._dump(self.ESTABLISHED) is None:
            self.sock.close()
            self.sock = None

    def _dump(self, states: int):
        """Cookies of the sockets in ``states`` connected to the port, or None."""
        if self.sock is None:
            return None
        pack, unpack_from = self.struct.pack, self.struct.unpack_from
        # struct inet_diag_req_v2: family, protocol, ext, pad, states, inet_diag_sockid
        request = pack("=BBBBI", self.family, self.protocol, 0, 0, states) + bytes(48)
        flags = self.NLM_F_REQUEST_DUMP
        header = pack("=IHHII", 16 + len(request), self.SOCK_DIAG_BY_FAMILY, flags, 1, 0)
        cookies = []
        try:
            self.sock.send(header + request)
            while True:
                data = self.sock.recv(1 << 17)
                if not data:
                    return None
                offset = 0
                while offset + 16 <= len(data):
                    length, kind = unpack_from("=IH", data, offset)
                    if kind == self.NLMSG_DONE:
                        return cookies
                    if kind == self.NLMSG_ERROR or length < 16:
                        return None
                    # struct inet_diag_msg: family, state, timer, retrans, then
                    # inet_diag_sockid: sport, dport (big-endian), src, dst, if, cookie
                    if unpack_from("!H", data, offset + 22)[0] == self.port:
                        cookies.append(unpack_from("=Q", data, offset + 60)[0])
                    offset += (length + 3) & ~3
        except OSError:
            return None

    def snapshot(self):
        """Taken before the client starts; passed to watch()."""
        return self._dump(self.ANY_BUT_LISTEN)

    def watch(self, proc, deadline: float, before) -> tuple:
        """Sample until ``proc`` exits: (most established at once, opened).

        Opened counts the connections seen established while sampling plus
        those left closing or in TIME_WAIT at the end, minus those listed in
        ``before``; one that was opened and reset between two samples is
        missed (wrk resets all of its own at exit).
        """
        seen: set = set()
        most = -1
        while True:
            running = proc.poll() is None and time.monotonic() < deadline
            cookies = self._dump(self.ESTABLISHED)
            if cookies is not None:
                most = max(most, len(set(cookies)))
                seen.update(cookies)
            if not running:
                break
            time.sleep(0.02)
        after = self._dump(self.ANY_BUT_LISTEN)
        if before is None or after is None:
            return most, -1
        return most, len((seen | set(after)) - set(before))


def _run_self(argv: list, timeout: float, conns: ConnCounter | None = None):
    """Run this script as a worker; returns (exit code, JSON result,
    connection counts while it ran: {"max_conns", "new_conns"})."""
    import subprocess
    import tempfile

    cmd = [sys.executable, os.path.abspath(__file__), *argv]
    stats = {"max_conns": -1, "new_conns": -1}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        before = conns.snapshot() if conns is not None else None
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        try:
            if conns is not None:
                stats["max_conns"], stats["new_conns"] = conns.watch(proc, deadline, before)
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise BenchError(
                    f"subprocess did not finish within {timeout:.0f}s and was killed: "
                    f"{' '.join(argv)}"
                ) from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    return proc.returncode, harness.worker_result(argv, proc.returncode, stdout, stderr), stats


def check_clients(clients: list, install: bool) -> dict:
    """Versions of the libraries the clients need; installs missing peers with
    pip (unless install is False); BenchError listing every missing one."""
    import subprocess

    libraries = []
    for client in clients:
        if client == "wrk":
            continue
        library, loop_kind = CLIENTS[client]
        libraries.append(library)
        if loop_kind == "uvloop":
            libraries.append("uvloop")
    libraries = list(dict.fromkeys(libraries))

    versions, missing = {}, []
    if "wrk" in clients:
        harness.probe_wrk(versions, missing)

    def probe(library):
        code, data, _stats = _run_self(["--probe", library], timeout=120)
        return data if code == 0 and "error" not in data else None

    to_install = []
    for library in libraries:
        data = probe(library)
        if data is not None:
            versions[library] = str(data["version"])
        elif library in INSTALLABLE and install:
            to_install.append(library)
        else:
            hint = (
                "pip install -e . (from the repository root)"
                if library == "requestx"
                else f"{sys.executable} -m pip install {library}"
            )
            missing.append(f"{library}: not importable\n    install: {hint}")
    if to_install:
        print(
            f"installing {', '.join(to_install)} with pip into {sys.prefix} "
            "(use --no-install to refuse, --clients to pick a subset) ...",
            flush=True,
        )
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", *to_install],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            missing.append(f"pip install {' '.join(to_install)} failed:\n{proc.stderr.strip()}")
        else:
            for library in to_install:
                data = probe(library)
                if data is None:
                    missing.append(f"{library}: still not importable after pip install")
                else:
                    versions[library] = str(data["version"])
    harness.check_missing(missing, "requestx,aiohttp,wrk")
    return versions


def run_python_client(client: str, scenario: str, url: str, args, conns: ConnCounter) -> dict:
    from servers import JSON_BODY

    library, _loop = CLIENTS[client]
    if scenario == "A":
        n = {"requestx": args.n_requestx, "aiohttp": args.n_aiohttp, "httpx": args.n_httpx}
        n = n[library]
        warmup = max(CONCURRENCY, n // 10)
    else:
        n, warmup = (args.gather_httpx if library == "httpx" else args.gather), 0
    argv = ["--worker", client, "--scenario", scenario, "--url", url, "-n", str(n)]
    argv += ["--warmup", str(warmup), "--concurrency", str(args.concurrency)]
    argv += ["--expect-body", JSON_BODY, "--max-seconds", str(args.max_seconds)]
    code, data, stats = _run_self(argv, args.max_seconds * 2 + 120, conns)
    if code != 0 or "error" in data:
        raise BenchError(f"{client} (scenario {scenario}) failed: {data.get('error', data)}")
    data.update(stats)
    return data


def run_wrk(url: str, seconds: float, threads: int, concurrency: int, conns) -> dict:
    import subprocess

    cmd = [harness.find_wrk(), f"-t{threads}", f"-c{concurrency}", f"-d{seconds:g}s", url]
    before = conns.snapshot()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        try:
            most, opened = conns.watch(proc, time.monotonic() + seconds + 30, before)
            out = proc.communicate(timeout=max(1.0, seconds))[0].decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            raise BenchError("wrk did not finish in time") from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return {**harness.parse_wrk(proc.returncode, out), "max_conns": most, "new_conns": opened}


def _median(runs: list, key: str) -> float:
    import statistics

    return statistics.median(r[key] for r in runs)


def _conns(runs: list) -> tuple:
    """(most established at once, connections opened: median) over the runs."""
    most = max(r["max_conns"] for r in runs)
    opened = _median(runs, "new_conns")
    return ("?" if most < 0 else str(most)), ("?" if opened < 0 else fmt_int(opened))


def _pairs(values: dict):
    """(requestx client, aiohttp client, loop name) pairs present in values."""
    for suffix, loop_name in (("", "asyncio's default loop"), ("-uvloop", "uvloop")):
        rx, ah = f"requestx{suffix}", f"aiohttp{suffix}"
        if rx in values and ah in values:
            yield rx, ah, loop_name


def _setups(res: dict) -> list:
    setups = {CLIENTS[c][0]: runs[0]["setup"] for c, runs in res.items() if c in CLIENTS}
    return [f"- {library}: `{setup}`" for library, setup in setups.items()]


def render_throughput(res: dict, versions: dict, args, verdict) -> tuple:
    """(markdown section, target lines) for scenario A."""
    rps = {c: _median(runs, "rps") for c, runs in res.items()}
    py = [c for c in rps if c != "wrk"]
    base_name = "requestx" if "requestx" in rps else max(py or rps, key=rps.get)
    base = rps[base_name]
    lines = [
        f"| client | event loop | version | req/s (median) | {base_name} ÷ client "
        "| CPU µs/req | of which loop thread | peak RSS MB | max conns | conns opened "
        "| runs (req/s) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for client in sorted(rps, key=rps.get, reverse=True):
        runs = res[client]
        most, opened = _conns(runs)
        run_text = ", ".join(fmt_int(r["rps"]) for r in runs)
        if client == "wrk":
            lines.append(
                f"| wrk -t{args.wrk_threads} -c{args.concurrency} (limit) | – "
                f"| {versions.get('wrk', '?')} | {fmt_int(rps[client])} "
                f"| {fmt_ratio(base / rps[client])} | – | – | – | {most} | {opened} | {run_text} |"
            )
            continue
        name = f"**{client}**" if client == base_name else client
        lines.append(
            f"| {name} | {runs[0]['loop']} | {runs[0]['version']} "
            f"| {fmt_int(rps[client])} | {fmt_ratio(base / rps[client])} "
            f"| {_median(runs, 'cpu_us'):.1f} | {_median(runs, 'loop_cpu_us'):.1f} "
            f"| {_median(runs, 'peak_rss_mb'):.1f} | {most} | {opened} | {run_text} |"
        )
    ns = ", ".join(f"{c} {res[c][0]['requests']:,}" for c in py)
    text = [
        f"## A. Throughput: {args.concurrency} requests in flight",
        "",
        f"{args.concurrency} asyncio tasks share one client and do sequential GETs until "
        "the total is reached; the status and body of every response are read and checked "
        "(200, body length).  Connection limit = concurrency:",
        "",
        *_setups(res),
        f"- Timed requests per run: {ns}; warm-up before timing: a tenth of that "
        f"(at least {args.concurrency}); wrk runs {args.wrk_seconds:g}s per round.",
        "- CPU µs/req: user+system CPU time of the client process (all threads, "
        "`time.process_time()`) per timed request; of which loop thread: the part spent in "
        "the thread running the event loop (`time.thread_time()`), the rest is other "
        "threads (requestx's engine thread).  peak RSS: `ru_maxrss` of the process.",
        "- max conns: most established TCP connections to nginx at once (sampled every "
        "20 ms over sock_diag, as `ss` does; highest of the rounds); conns opened: "
        "connections to nginx the client process opened, warm-up included (those seen "
        "established or left in TIME_WAIT; median of the rounds).  "
        f"A client that keeps its connections open opens {args.concurrency}.",
    ]
    truncated = [c for c, runs in res.items() if any(r["truncated"] for r in runs)]
    if truncated:
        text.append(
            f"- Note: {', '.join(truncated)} hit the {args.max_seconds:g}s time limit; "
            "fewer requests were timed."
        )
    targets = []
    for rx, ah, loop_name in _pairs(rps):
        ratio = rps[rx] / rps[ah]
        targets.append(
            f"- A, {loop_name}: {rx} ÷ {ah} req/s = {fmt_ratio(ratio)} "
            f"(target ≥ {SPEEDUP_TARGET:g}x): {verdict(ratio >= SPEEDUP_TARGET)}"
        )
    if "requestx" in rps and "wrk" in rps:
        share = 100.0 * rps["requestx"] / rps["wrk"]
        targets.append(f"- A: requestx reaches {share:.0f}% of the wrk -c{args.concurrency} limit")
    return "\n".join(text) + "\n\n" + "\n".join(lines) + "\n", targets


def render_memory(res: dict, args, verdict) -> tuple:
    """(markdown section, target lines) for scenario B."""
    peak = {c: _median(runs, "peak_rss_mb") for c, runs in res.items()}
    base_name = "requestx" if "requestx" in peak else min(peak, key=peak.get)
    base = peak[base_name]
    lines = [
        f"| client | event loop | requests | peak RSS MB (median) | client ÷ {base_name} "
        "| RSS before MB | wall s | req/s | CPU µs/req | max conns | conns opened "
        "| runs (peak RSS MB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for client in sorted(peak, key=peak.get):
        runs = res[client]
        most, opened = _conns(runs)
        name = f"**{client}**" if client == base_name else client
        run_text = ", ".join(f"{r['peak_rss_mb']:.1f}" for r in runs)
        lines.append(
            f"| {name} | {runs[0]['loop']} | {runs[0]['requests']:,} | {peak[client]:.1f} "
            f"| {fmt_ratio(peak[client] / base)} | {_median(runs, 'rss_before_mb'):.1f} "
            f"| {_median(runs, 'seconds'):.2f} | {fmt_int(_median(runs, 'rps'))} "
            f"| {_median(runs, 'cpu_us'):.1f} | {most} | {opened} | {run_text} |"
        )
    text = [
        f"## B. Memory: {args.gather:,} requests gathered at once",
        "",
        f"{args.gather:,} tasks (`asyncio.ensure_future(fetch())`) are created at once "
        "and awaited with one `asyncio.gather`; every result is (status, body) and is "
        "checked (200, body length).  Each client keeps its default connection limit, "
        "which is 100 connections for all three:",
        "",
        *_setups(res),
        "- peak RSS: `ru_maxrss` of the whole client process (interpreter, imports, client, "
        "all tasks and results) after the gather; RSS before: resident set after importing "
        "the library, creating the client and doing one request.  MB = 10^6 bytes.",
        "- wall s, req/s, CPU µs/req: from creating the first task to the end of the "
        "gather.  max conns, conns opened: as in A.",
    ]
    if any(runs[0]["requests"] != args.gather for runs in res.values()):
        text.append(
            "- Note: rows with fewer requests (--quick: httpx) are not comparable for memory."
        )
    targets = []
    if "requestx" in peak:
        rx = peak["requestx"]
        targets.append(
            f"- B: requestx peak RSS = {rx:.1f} MB (target < {RSS_LIMIT_MB:g} MB): "
            f"{verdict(rx < RSS_LIMIT_MB)}"
        )
    for rx, ah, loop_name in _pairs(peak):
        share = peak[rx] / peak[ah]
        targets.append(
            f"- B, {loop_name}: {rx} ÷ {ah} peak RSS = {share:.2f} "
            f"(target < {RSS_SHARE_TARGET:g}): {verdict(share < RSS_SHARE_TARGET)}"
        )
    return "\n".join(text) + "\n\n" + "\n".join(lines) + "\n", targets


def render(results: dict, versions: dict, args, nginx_ver: str, pinning: str) -> tuple:
    """(markdown report, all targets met?)."""
    res_a = {c: runs for c, runs in results["A"].items() if runs}
    res_b = {c: runs for c, runs in results["B"].items() if runs}
    verdicts = []

    def verdict(ok: bool) -> str:
        verdicts.append(ok)
        return "PASS" if ok else "FAIL"

    sections, targets = [], []
    if res_a:
        section, lines = render_throughput(res_a, versions, args, verdict)
        sections.append(section)
        targets += lines
    if res_b:
        section, lines = render_memory(res_b, args, verdict)
        sections.append(section)
        targets += lines
    # The targets compare requestx with aiohttp: with neither measured, none is met.
    all_met = bool(verdicts) and all(verdicts)

    loops = {runs[0]["loop"] for res in (res_a, res_b) for c, runs in res.items() if c != "wrk"}
    header = [
        f"# Async benchmark: {args.concurrency} requests in flight, {args.gather:,} gathered",
        "",
        f"Generated by `benchmarks/bench_async.py` on {harness.utc_timestamp()}.",
        "",
        f"- Workload: GET /json ({len(args.expect_body)} bytes of JSON) from a local nginx "
        f"{nginx_ver} (1 worker, keep-alive, access_log off) over 127.0.0.1.",
        "- Each Python client runs in its own subprocess with only its own library imported; "
        "plain names run on asyncio's default event loop, `-uvloop` names on uvloop "
        f"(event loops used: {', '.join(f'`{x}`' for x in sorted(loops))}).",
        f"- Median of {args.repeats} interleaved round(s); CPU pinning: {pinning}.",
        f"- Machine: {harness.machine_description()}; 1-minute load average "
        f"{args.load_before} when the run started (other work on the machine shows up as "
        "spread between the rounds).",
    ]
    report = "\n".join(header) + "\n\n" + "\n".join(sections)
    if targets:
        report += "\n## Targets\n\n" + "\n".join(targets) + "\n"
    return report, all_met


def _load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Async GET benchmark (64 in flight; 10,000 gathered) against a local nginx.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--clients", default=",".join(ALL_CLIENTS), help="comma-separated subset")
    parser.add_argument(
        "--scenarios", default="A,B", help="A: throughput, B: memory of gathered requests"
    )
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument("--n-requestx", type=int, default=20000, help="A: timed requests")
    parser.add_argument("--n-aiohttp", type=int, default=10000, help="A: timed requests")
    parser.add_argument("--n-httpx", type=int, default=3000, help="A: timed requests")
    parser.add_argument(
        "--concurrency", type=int, default=CONCURRENCY, help="A: workers and connection limit"
    )
    parser.add_argument("--gather", type=int, default=GATHER, help="B: requests gathered")
    parser.add_argument(
        "--gather-httpx", type=int, default=GATHER, help="B: requests gathered by httpx"
    )
    parser.add_argument("--wrk-seconds", type=float, default=3.0, help="wrk -d per round")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk -t")
    harness.add_run_options(parser, DEFAULT_OUTPUT)
    parser.add_argument(
        "--no-install", action="store_true", help="do not pip-install missing aiohttp/httpx/uvloop"
    )
    parser.add_argument(
        "--pin",
        choices=("split", "same", "none"),
        default="split",
        help="split: nginx on one CPU, clients and wrk on another; same: all on one CPU; "
        "none: let the scheduler decide",
    )
    # Internal: worker / probe mode (runs in a subprocess).
    parser.add_argument("--worker", choices=tuple(CLIENTS), help=argparse.SUPPRESS)
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", choices=("A", "B"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("-n", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--expect-body", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker or args.probe:
        return worker_main(args)

    if args.quick:
        args.repeats = 1
        args.n_requestx = max(1, args.n_requestx // 10)
        args.n_aiohttp = max(1, args.n_aiohttp // 10)
        args.n_httpx = max(1, args.n_httpx // 10)
        args.wrk_seconds = 1.0
        # httpx needs ~20 s for 10,000 gathered requests (each one waits in its pool)
        args.gather_httpx = min(args.gather_httpx, max(1, args.gather // 10))
    numbers = (args.repeats, args.n_requestx, args.n_aiohttp, args.n_httpx, args.gather)
    numbers += (args.gather_httpx,)
    if min(numbers) < 1 or args.concurrency < 1 or args.wrk_seconds <= 0:
        parser.error("--repeats, -n-*, --gather, --concurrency, --wrk-seconds must be positive")
    scenarios = [s.strip().upper() for s in args.scenarios.split(",") if s.strip()]
    if not scenarios or set(scenarios) - {"A", "B"}:
        parser.error("--scenarios takes A, B or A,B")
    args.scenarios = scenarios
    return harness.run_main(run_benchmark, args)


def run_benchmark(args) -> int:
    from servers import JSON_BODY

    clients = harness.parse_clients(args.clients, ALL_CLIENTS)
    args.expect_body = JSON_BODY
    args.load_before = _load_average()
    print(f"checking clients: {', '.join(clients)}", flush=True)
    versions = check_clients(clients, install=not args.no_install)

    py_clients = [c for c in clients if c != "wrk"]
    plan = []  # (scenario, [clients]) per round
    if "A" in args.scenarios:
        plan.append(("A", clients))
    if "B" in args.scenarios and py_clients:
        plan.append(("B", py_clients))
    results = {"A": {}, "B": {}}
    for scenario, members in plan:
        results[scenario] = {c: [] for c in members}

    with harness.pinned_nginx(args.pin) as (nginx, url, nginx_ver, pinning):
        conns = ConnCounter(nginx.port)
        started = time.monotonic()
        for round_no in range(args.repeats):
            for scenario, members in plan:
                for client in harness.rotated(members, round_no):
                    if client == "wrk":
                        result = run_wrk(
                            url, args.wrk_seconds, args.wrk_threads, args.concurrency, conns
                        )
                    else:
                        result = run_python_client(client, scenario, url, args, conns)
                    results[scenario][client].append(result)
                    extra = ""
                    if scenario == "B":
                        extra = f"  peak RSS {result['peak_rss_mb']:.1f} MB"
                    print(
                        f"  round {round_no + 1}/{args.repeats}  {scenario}  {client:<16}"
                        f"{fmt_int(result['rps']):>9} req/s  ({result['requests']:,} requests "
                        f"in {result['seconds']:.2f}s, {result['max_conns']} conns at most, "
                        f"{result['new_conns']} opened){extra}",
                        flush=True,
                    )
        print(f"done in {time.monotonic() - started:.1f}s\n")

    report, all_met = render(results, versions, args, nginx_ver, pinning)
    return harness.publish(report, all_met, args)


if __name__ == "__main__":
    sys.exit(main())
