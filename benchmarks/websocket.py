"""The ``websocket`` scenario: WebSocket clients against a picows echo server.

The server is picows (Cython, on uvloop), in a process of its own on
127.0.0.1, so that it is faster than any client measured: a binary message
is echoed, a text message ``flood N SIZE`` makes it send N binary messages of
SIZE bytes as fast as the socket takes them, then a text ``done``.  Each
client runs, in turn, in a fresh process of its own virtualenv (peers.py):

- ping-pong: send a message, wait for its echo, again (warm-up, then a timed
  part); round trips per second and the p99 of single round trips;
- flood: ask for N messages and receive them; messages/s and MB/s;
- for both, the client's CPU (``getrusage`` user + sys of its process) per
  100k round trips or messages received;
- for async clients, the event loop's lag during the flood: the largest gap
  seen by a task that sleeps 1 ms in a loop, less the 1 ms.

Message sizes 16 B and 4 KiB; compression off everywhere.  Several rounds,
the client order rotated each round; medians are reported.

    python benchmarks/websocket.py                  # 5 rounds
    python benchmarks/websocket.py --quick          # 1 short round
    python benchmarks/websocket.py --pin split --json out.json --markdown out.md

``--pin split`` runs the server on one CPU and the clients on another, ``--pin
same`` all on one CPU (bench.py's modes).  bench.py runs this as its ``websocket``
scenario and puts the table in its report.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402

SIZES = (16, 4096)
# name -> (peer whose venv runs it, async?)
CLIENTS = {
    "requestx": ("requestx", False),
    "requestx-async": ("requestx", True),
    "websockets": ("ws-picows", True),
    "aiohttp": ("aiohttp", True),
    "curl_cffi": ("curl_cffi", False),
    "curl_cffi-async": ("curl_cffi", True),
    "picows": ("ws-picows", True),
}
OURS = ("requestx", "requestx-async")
CEILING = "picows"  # Cython client: the ceiling, not counted among the Python peers
# Messages per timed flood (the warm-up flood is a tenth of it).
FLOOD = {16: 200_000, 4096: 100_000}
FLOOD_QUICK = {16: 20_000, 4096: 5_000}
DONE = ("done", b"done")  # what ends a flood (curl_cffi gives text as bytes)


def ws_peer():  # type: ignore[no-untyped-def]
    """The venv of the server, the picows client and the websockets client."""
    import peers

    return peers.Peer("ws-picows", None, ("picows", "websockets", "uvloop"))


# ---------------------------------------------------------------------------
# The server (runs in the ws-picows venv)
# ---------------------------------------------------------------------------


def serve(port_file: str) -> None:
    import asyncio

    import uvloop
    from picows import WSListener, WSMsgType, ws_create_server

    class Echo(WSListener):
        def on_ws_connected(self, transport) -> None:  # type: ignore[no-untyped-def]
            self.transport = transport
            self.left = 0
            self.payload = None
            self.paused = False

        def on_ws_frame(self, transport, frame) -> None:  # type: ignore[no-untyped-def]
            kind = frame.msg_type
            if kind == WSMsgType.BINARY:
                transport.send(WSMsgType.BINARY, frame.get_payload_as_memoryview())
            elif kind == WSMsgType.TEXT:
                _, n, size = frame.get_payload_as_ascii_text().split()
                self.left, self.payload = int(n), b"x" * int(size)
                self.push()
            elif kind == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

        def push(self) -> None:
            send, binary = self.transport.send, WSMsgType.BINARY
            while self.left and not self.paused:
                send(binary, self.payload)
                self.left -= 1
            if not self.left and self.payload is not None:
                self.payload = None
                self.transport.send(WSMsgType.TEXT, b"done")

        def pause_writing(self) -> None:
            self.paused = True

        def resume_writing(self) -> None:
            self.paused = False
            self.push()

    async def main() -> None:
        server = await ws_create_server(lambda request: Echo(), "127.0.0.1", 0)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.sockets[0].getsockname()[1]))
        os.rename(port_file + ".tmp", port_file)
        await asyncio.Future()

    uvloop.run(main())


# ---------------------------------------------------------------------------
# The clients (each in its own venv)
# ---------------------------------------------------------------------------


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sync_conn(client: str, url: str):  # type: ignore[no-untyped-def]
    """(context manager, send bytes, recv bytes, send text, recv the end) of a sync client."""
    import contextlib

    stack = contextlib.ExitStack()
    if client == "requestx":
        import requestx

        s = stack.enter_context(requestx.Session())
        ws = stack.enter_context(s.ws_connect(url, ping_interval=None, max_size=None))
        return stack, ws.send, ws.recv, ws.send, ws.recv
    from curl_cffi.requests import Session

    s = stack.enter_context(Session())
    ws = stack.enter_context(s.ws_connect(url))

    def recv():  # type: ignore[no-untyped-def]
        return ws.recv()[0]

    return stack, ws.send_binary, recv, ws.send_str, recv


async def _async_conn(client: str, url: str):  # type: ignore[no-untyped-def]
    """(async context manager, send bytes, recv bytes, send text, recv the end)."""
    import contextlib

    stack = contextlib.AsyncExitStack()
    if client == "requestx-async":
        import requestx

        s = await stack.enter_async_context(requestx.AsyncSession())
        ws = await stack.enter_async_context(s.ws_connect(url, ping_interval=None, max_size=None))
        return stack, ws.send, ws.recv, ws.send, ws.recv
    if client == "websockets":
        from websockets.asyncio.client import connect

        ws = await stack.enter_async_context(
            connect(url, compression=None, ping_interval=None, max_size=None)
        )
        return stack, ws.send, ws.recv, ws.send, ws.recv
    if client == "aiohttp":
        import aiohttp

        s = await stack.enter_async_context(aiohttp.ClientSession())
        ws = await stack.enter_async_context(
            s.ws_connect(url, autoping=False, compress=0, max_msg_size=0)
        )
        return stack, ws.send_bytes, ws.receive_bytes, ws.send_str, ws.receive_str
    from curl_cffi.requests import AsyncSession

    s = await stack.enter_async_context(AsyncSession())
    ws = await s.ws_connect(url)
    stack.push_async_callback(ws.close)

    async def recv():  # type: ignore[no-untyped-def]
        return (await ws.recv())[0]

    return stack, ws.send_binary, recv, ws.send_str, recv


def _summary(task: dict, lat: list, n: int, elapsed: float, cpu: float, lag: float | None):
    out = {
        "client": task["client"],
        "mode": task["mode"],
        "size": task["size"],
        "n": n,
        "per_s": n / elapsed,
        "mb_s": n * task["size"] / elapsed / 1e6,
        "cpu_per_100k": cpu / n * 1e5,
        "lag_ms": lag,
    }
    if lat:
        lat.sort()
        out["p50_us"] = lat[len(lat) // 2] * 1e6
        out["p99_us"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e6
    return out


def measure_sync(task: dict) -> dict:
    client, url, size = task["client"], task["url"], task["size"]
    payload, clock = b"x" * size, time.perf_counter
    stack, send, recv, send_text, recv_done = _sync_conn(client, url)
    with stack:
        lat: list = []
        if task["mode"] == "pingpong":
            end = clock() + task["warmup"]
            while clock() < end:
                send(payload)
                recv()
            c0, t0 = cpu_seconds(), clock()
            end = t0 + task["seconds"]
            t = t0
            while t < end:
                send(payload)
                if len(recv()) != size:
                    raise harness.BenchError("short echo")
                now = clock()
                lat.append(now - t)
                t = now
            return _summary(task, lat, len(lat), t - t0, cpu_seconds() - c0, None)
        for n in (max(1, task["count"] // 10), task["count"]):  # warm-up, timed
            c0, t0 = cpu_seconds(), clock()
            send_text(f"flood {n} {size}")
            total = 0
            for _ in range(n):
                total += len(recv())
            elapsed = clock() - t0
            if recv_done() not in DONE or total != n * size:
                raise harness.BenchError(f"flood: {total} bytes, not {n * size}")
        return _summary(task, lat, n, elapsed, cpu_seconds() - c0, None)


async def _ticker(gaps: list) -> None:
    import asyncio

    clock = time.perf_counter
    while True:
        t = clock()
        await asyncio.sleep(0.001)
        gaps[0] = max(gaps[0], clock() - t - 0.001)


async def measure_async(task: dict) -> dict:
    import asyncio

    if task["client"] == CEILING:
        return await measure_picows(task)
    client, url, size = task["client"], task["url"], task["size"]
    payload, clock = b"x" * size, time.perf_counter
    stack, send, recv, send_text, recv_done = await _async_conn(client, url)
    async with stack:
        lat: list = []
        if task["mode"] == "pingpong":
            end = clock() + task["warmup"]
            while clock() < end:
                await send(payload)
                await recv()
            c0, t0 = cpu_seconds(), clock()
            end = t0 + task["seconds"]
            t = t0
            while t < end:
                await send(payload)
                if len(await recv()) != size:
                    raise harness.BenchError("short echo")
                now = clock()
                lat.append(now - t)
                t = now
            return _summary(task, lat, len(lat), t - t0, cpu_seconds() - c0, None)
        for n, timed in ((max(1, task["count"] // 10), False), (task["count"], True)):
            gaps = [0.0]
            ticker = asyncio.ensure_future(_ticker(gaps)) if timed else None
            await asyncio.sleep(0.002)  # the ticker's first sleep is under way
            c0, t0 = cpu_seconds(), clock()
            await send_text(f"flood {n} {size}")
            total = 0
            for _ in range(n):
                total += len(await recv())
            elapsed = clock() - t0
            cpu = cpu_seconds() - c0
            if ticker:
                ticker.cancel()
            if await recv_done() not in DONE or total != n * size:
                raise harness.BenchError(f"flood: {total} bytes, not {n * size}")
        return _summary(task, lat, n, elapsed, cpu, gaps[0] * 1e3)


async def measure_picows(task: dict) -> dict:
    """picows's own way: a listener whose callback sends the next message."""
    import asyncio

    from picows import WSListener, WSMsgType, ws_connect

    size, clock = task["size"], time.perf_counter
    payload, binary = b"x" * size, WSMsgType.BINARY
    loop = asyncio.get_running_loop()
    lat: list = []

    class Client(WSListener):
        def on_ws_connected(self, transport) -> None:  # type: ignore[no-untyped-def]
            self.transport = transport
            self.done = None
            self.end = 0.0
            self.t = 0.0
            self.total = 0
            self.record = False

        def start_pingpong(self, seconds: float, record: bool):  # type: ignore[no-untyped-def]
            self.done, self.record = loop.create_future(), record
            self.t = clock()
            self.end = self.t + seconds
            self.transport.send(binary, payload)
            return self.done

        def start_flood(self, n: int):  # type: ignore[no-untyped-def]
            self.done, self.total = loop.create_future(), 0
            self.transport.send(WSMsgType.TEXT, f"flood {n} {size}".encode())
            return self.done

        def on_ws_frame(self, transport, frame) -> None:  # type: ignore[no-untyped-def]
            if frame.msg_type == WSMsgType.TEXT:
                self.done.set_result(self.total)
                return
            self.total += frame.payload_size
            if task["mode"] != "pingpong":
                return
            now = clock()
            if self.record:
                lat.append(now - self.t)
            self.t = now
            if now < self.end:
                transport.send(binary, payload)
            else:
                self.done.set_result(None)

    transport, listener = await ws_connect(Client, task["url"], max_frame_size=1 << 30)
    try:
        if task["mode"] == "pingpong":
            await listener.start_pingpong(task["warmup"], False)
            c0, t0 = cpu_seconds(), clock()
            await listener.start_pingpong(task["seconds"], True)
            return _summary(task, lat, len(lat), listener.t - t0, cpu_seconds() - c0, None)
        n = task["count"]
        await listener.start_flood(max(1, n // 10))
        gaps = [0.0]
        ticker = asyncio.ensure_future(_ticker(gaps))
        await asyncio.sleep(0.002)
        c0, t0 = cpu_seconds(), clock()
        total = await listener.start_flood(n)
        elapsed, cpu = clock() - t0, cpu_seconds() - c0
        ticker.cancel()
        if total != n * size:
            raise harness.BenchError(f"flood: {total} bytes, not {n * size}")
        return _summary(task, lat, n, elapsed, cpu, gaps[0] * 1e3)
    finally:
        transport.send_close()
        transport.disconnect()


def measure(task: dict) -> dict:
    if not CLIENTS[task["client"]][1]:
        return measure_sync(task)
    try:
        import uvloop

        result = uvloop.run(measure_async(task))
        result["loop"] = "uvloop"
    except ImportError:
        import asyncio

        result = asyncio.run(measure_async(task))
        result["loop"] = "asyncio"
    return result


def version_of(client: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    dist = {"requestx-async": "requestx", "curl_cffi-async": "curl_cffi"}.get(client, client)
    try:
        return version(dist)
    except PackageNotFoundError:
        import requestx  # from the snapshot, not installed as a distribution

        return getattr(requestx, "__version__", "this repository")


# ---------------------------------------------------------------------------
# The parent: venvs, server, rounds, table
# ---------------------------------------------------------------------------


class Run:
    def __init__(self, args) -> None:  # type: ignore[no-untyped-def]
        import peers

        self.args = args
        self.peers = {**{p.name: p for p in peers.PEERS}, "ws-picows": ws_peer()}
        self.errors: dict = {}
        self.versions: dict = {}

    def prepare(self, clients: list) -> list:
        """The clients whose venv could be made (the others in self.errors)."""
        import peers

        if not self.args.no_snapshot:
            peers.snapshot_requestx()
        failed: dict = {}
        for name in dict.fromkeys(CLIENTS[c][0] for c in clients + ["picows"]):
            peer = self.peers[name]
            if peer.requirements:
                reason = peers.install(peer)
                if reason:
                    failed[name] = f"not installable: {reason}"
        if "ws-picows" in failed:
            raise harness.BenchError(f"no picows server: {failed['ws-picows']}")
        ok = []
        for client in clients:
            if CLIENTS[client][0] in failed:
                self.errors[client] = failed[CLIENTS[client][0]]
            else:
                ok.append(client)
        return ok

    def python(self, client: str) -> tuple:
        import peers

        peer = self.peers[CLIENTS[client][0]]
        return str(peers.python_of(peer)), peers.worker_env(peer)

    def worker(self, task: dict) -> dict:
        python, env = self.python(task["client"])
        argv = [python, str(Path(__file__)), "--worker", json.dumps(task)]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180)
        except subprocess.TimeoutExpired:
            return {"error": "timed out after 180 s"}
        try:
            return harness.worker_result(argv, proc.returncode, proc.stdout, proc.stderr)
        except harness.BenchError as exc:
            return {"error": str(exc).splitlines()[-1][:300]}

    def run(self) -> dict:
        args = self.args
        clients = self.prepare([c for c in args.clients.split(",") if c])
        rounds = args.rounds or (1 if args.quick else 5)
        warmup, seconds = (0.1, 0.3) if args.quick else (0.5, 1.5)
        flood = FLOOD_QUICK if args.quick else FLOOD
        server_cpus, client_cpus, pinning = harness.plan_cpus(args.pin)
        pinning = pinning.replace("nginx", "server").replace(" and limit tools", "")
        port_file = f"/tmp/requestx-ws-bench-{os.getpid()}.port"
        python, env = self.python("picows")
        server = subprocess.Popen([python, str(Path(__file__)), "--serve", port_file], env=env)
        allowed = os.sched_getaffinity(0)
        raw: dict = {}
        try:
            for _ in range(200):
                if os.path.exists(port_file) or server.poll() is not None:
                    break
                time.sleep(0.05)
            if not os.path.exists(port_file):
                raise harness.BenchError("the picows server did not start")
            url = f"ws://127.0.0.1:{open(port_file).read()}/"
            if server_cpus:
                harness.pin_tree(server.pid, server_cpus)
                harness.set_affinity(client_cpus)
            for client in clients:
                python, env = self.python(client)
                code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import websocket as w; "
                code += f"print(w.version_of({client!r}))"
                proc = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env)
                self.versions[client] = proc.stdout.strip() or "?"
            for r in range(rounds):
                for mode in ("pingpong", "flood"):
                    for size in SIZES:
                        for client in harness.rotated(clients, r):
                            task = {"client": client, "url": url, "mode": mode, "size": size}
                            task.update(warmup=warmup, seconds=seconds, count=flood[size])
                            result = self.worker(task)
                            if "error" in result:
                                print(f"  {client} {mode} {size} B: {result['error']}", flush=True)
                                self.errors.setdefault(client, result["error"])
                                continue
                            raw.setdefault((client, mode, size), []).append(result)
                print(f"  websocket: round {r + 1}/{rounds} done", flush=True)
        finally:
            harness.set_affinity(allowed)
            server.kill()
            server.wait()
            if os.path.exists(port_file):
                os.unlink(port_file)
        rows = []
        for (client, mode, size), runs in raw.items():
            row = {"client": client, "mode": mode, "size": size, "rounds": len(runs)}
            for key in ("per_s", "mb_s", "cpu_per_100k", "p50_us", "p99_us", "lag_ms"):
                values = [x[key] for x in runs if x.get(key) is not None]
                row[key] = statistics.median(values) if values else None
            row["loop"] = runs[0].get("loop", "-")
            rows.append(row)
        return {
            "meta": {
                "date": harness.utc_timestamp(),
                "machine": harness.machine_description(),
                "pinning": pinning,
                "rounds": rounds,
                "seconds": seconds,
                "warmup": warmup,
                "flood": {str(k): v for k, v in flood.items()},
                "quick": args.quick,
                "versions": self.versions,
                "errors": self.errors,
                "order": clients,
            },
            "results": rows,
        }


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------


def _fmt(value, spec: str) -> str:  # type: ignore[no-untyped-def]
    return "-" if value is None else format(value, spec)


def markdown(data: dict) -> str:
    meta = data["meta"]
    by = {(r["client"], r["mode"], r["size"]): r for r in data["results"]}
    clients = meta["order"]
    sizes = sorted({r["size"] for r in data["results"]})

    def get(client: str, mode: str, size: int, key: str):  # type: ignore[no-untyped-def]
        return by.get((client, mode, size), {}).get(key)

    lines = [
        f"{meta['date']}, {meta['machine']}; pinning: {meta['pinning']}; "
        f"{meta['rounds']} rounds (medians), ping-pong {meta['seconds']} s timed after "
        f"{meta['warmup']} s warm-up, flood of "
        + " / ".join(f"{int(v):,} messages of {k} B" for k, v in meta["flood"].items())
        + "; server: picows on uvloop.",
        "",
        "Ping-pong (one message out, its echo back; CPU: the client process's user + sys "
        "seconds per 100k round trips):",
        "",
        "| client | version | "
        + " | ".join(f"{s} B round trips/s | {s} B p99 µs | {s} B CPU s / 100k" for s in sizes)
        + " |",
        "|---|---|" + "---:|---:|---:|" * len(sizes),
    ]
    for c in clients:
        cells = []
        for s in sizes:
            cells += [_fmt(get(c, "pingpong", s, "per_s"), ",.0f")]
            cells += [_fmt(get(c, "pingpong", s, "p99_us"), ".0f")]
            cells += [_fmt(get(c, "pingpong", s, "cpu_per_100k"), ".2f")]
        lines.append(f"| {c} | {meta['versions'].get(c, '?')} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Server-push flood (the server sends as fast as the client takes; lag: the largest "
        "extra delay of a 1 ms asyncio ticker during the flood):",
        "",
        "| client | "
        + " | ".join(f"{s} B msgs/s | {s} B MB/s | {s} B CPU s / 100k msgs" for s in sizes)
        + " | loop lag ms (16 B / 4 KiB) |",
        "|---|" + "---:|---:|---:|" * len(sizes) + "---:|",
    ]
    for c in clients:
        cells = []
        for s in sizes:
            cells += [_fmt(get(c, "flood", s, "per_s"), ",.0f")]
            cells += [_fmt(get(c, "flood", s, "mb_s"), ",.1f")]
            cells += [_fmt(get(c, "flood", s, "cpu_per_100k"), ".2f")]
        lags = [get(c, "flood", s, "lag_ms") for s in sizes]
        lag = "-" if all(x is None for x in lags) else " / ".join(_fmt(x, ".1f") for x in lags)
        lines.append(f"| {c} | " + " | ".join(cells) + f" | {lag} |")
    peers_ = [c for c in clients if c not in OURS and c != CEILING]
    lines += [
        "",
        "requestx ÷ the best Python peer ("
        + ", ".join(peers_)
        + "; CPU: the peer's CPU per message ÷ requestx's, so above 1 is better) "
        + f"and ÷ {CEILING} (the Cython ceiling):",
        "",
        "| metric | " + " | ".join(f"{o} ÷ best peer | {o} ÷ {CEILING}" for o in OURS) + " |",
        "|---|" + "---:|---:|" * len(OURS) + "",
    ]
    metrics = []
    for s in sizes:
        metrics.append((f"ping-pong {s} B round trips/s", "pingpong", s, "per_s", True))
    for s in sizes:
        metrics.append(
            (f"ping-pong {s} B CPU per round trip", "pingpong", s, "cpu_per_100k", False)
        )
    for s in sizes:
        metrics.append((f"flood {s} B msgs/s", "flood", s, "per_s", True))
    for s in sizes:
        metrics.append((f"flood {s} B CPU per message", "flood", s, "cpu_per_100k", False))
    for label, mode, s, key, higher in metrics:
        values = [v for v in (get(p, mode, s, key) for p in peers_) if v]
        best = (max if higher else min)(values) if values else None
        ceiling = get(CEILING, mode, s, key)
        cells = []
        for o in OURS:
            ours = get(o, mode, s, key)
            for ref in (best, ceiling):
                if not ours or not ref:
                    cells.append("-")
                else:
                    cells.append(f"{(ours / ref if higher else ref / ours):.2f}x")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if meta["errors"]:
        lines += ["", "Not measured or failed:", ""]
        lines += [f"- {c}: {e}" for c, e in meta["errors"].items()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 short round")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--markdown", type=Path, help="write the tables here")
    parser.add_argument(
        "--pin",
        choices=harness.PIN_MODES,
        default="none",
        help="split: the server on one CPU, the clients on another; same: all on one CPU; "
        "none (default): the scheduler decides",
    )
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument(
        "--no-snapshot", action="store_true", help="requestx's snapshot is fresh (bench.py)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if args.worker:
        return harness.worker_reply(measure, json.loads(args.worker))
    unknown = set(args.clients.split(",")) - set(CLIENTS)
    if unknown:
        raise SystemExit(f"unknown client(s): {', '.join(sorted(unknown))}")
    try:
        data = Run(args).run()
    except harness.BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = markdown(data)
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
