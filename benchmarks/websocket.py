"""The ``websocket`` scenario: ping-pong round trips over one WebSocket.

One echo server (the websockets library, in a process of its own, on
127.0.0.1) and, in turn, each client in a fresh process: send a message,
wait for its echo, again, for a warm-up and then a timed part. Reported per
client and message size (16 B and 4 KiB): round trips per second (median of
the rounds) and latency percentiles of single round trips.

    python benchmarks/websocket.py                 # 5 rounds of 1.5 s
    python benchmarks/websocket.py --quick         # 1 round of 0.3 s
    python benchmarks/websocket.py --json out.json

Clients: requestx sync (Session.ws_connect), requestx async
(AsyncSession.ws_connect), websockets' asyncio client, aiohttp's
ws_connect; async ones on uvloop when it is installed. The server is Python
too, so the absolute figures include its share of each round trip; the
ratios between clients are the point (same server, same machine, rotating
order). With --pin, the server runs on CPU 1 and the clients on CPU 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SIZES = (16, 4096)
CLIENTS = ("requestx", "requestx-async", "websockets", "aiohttp")


def serve(port_file: str) -> None:
    import asyncio

    from websockets.asyncio.server import serve as ws_serve

    async def echo(ws):  # type: ignore[no-untyped-def]
        async for message in ws:
            await ws.send(message)

    async def main() -> None:
        async with ws_serve(echo, "127.0.0.1", 0, max_size=None, compression=None) as server:
            with open(port_file, "w") as f:
                f.write(str(server.sockets[0].getsockname()[1]))
            await asyncio.Future()

    asyncio.run(main())


def _loop():  # type: ignore[no-untyped-def]
    try:
        import uvloop

        return uvloop.new_event_loop(), "uvloop"
    except ImportError:
        import asyncio

        return asyncio.new_event_loop(), "asyncio"


def measure(client: str, url: str, size: int, warmup: float, seconds: float) -> dict:
    payload = b"x" * size
    lat: list[float] = []

    def timed(step):  # type: ignore[no-untyped-def]
        clock = time.perf_counter
        end = clock() + warmup
        while clock() < end:
            step()
        end = clock() + seconds
        while True:
            t0 = clock()
            if t0 >= end:
                break
            step()
            lat.append(clock() - t0)

    async def atimed(step):  # type: ignore[no-untyped-def]
        clock = time.perf_counter
        end = clock() + warmup
        while clock() < end:
            await step()
        end = clock() + seconds
        while True:
            t0 = clock()
            if t0 >= end:
                break
            await step()
            lat.append(clock() - t0)

    loop_name = "-"
    if client == "requestx":
        import requestx

        with requestx.Session() as s, s.ws_connect(url, ping_interval=None) as ws:

            def step() -> None:
                ws.send(payload)
                assert len(ws.recv()) == size

            timed(step)
    else:
        loop, loop_name = _loop()

        async def run() -> None:
            if client == "requestx-async":
                import requestx

                async with requestx.AsyncSession() as s:
                    async with s.ws_connect(url, ping_interval=None) as ws:

                        async def step() -> None:
                            await ws.send(payload)
                            assert len(await ws.recv()) == size

                        await atimed(step)
            elif client == "websockets":
                from websockets.asyncio.client import connect

                async with connect(url, compression=None, ping_interval=None) as ws:

                    async def step() -> None:
                        await ws.send(payload)
                        assert len(await ws.recv()) == size

                    await atimed(step)
            elif client == "aiohttp":
                import aiohttp

                async with aiohttp.ClientSession() as s:
                    async with s.ws_connect(url, autoping=False, compress=0) as ws:

                        async def step() -> None:
                            await ws.send_bytes(payload)
                            msg = await ws.receive()
                            assert len(msg.data) == size

                        await atimed(step)

        loop.run_until_complete(run())
        loop.close()
    lat.sort()
    n = len(lat)
    return {
        "client": client,
        "size": size,
        "loop": loop_name,
        "rps": n / seconds,
        "p50_us": lat[n // 2] * 1e6,
        "p99_us": lat[min(n - 1, int(n * 0.99))] * 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--json")
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.worker:
        client, url, size, warmup, seconds = args.worker
        print(json.dumps(measure(client, url, int(size), float(warmup), float(seconds))))
        return 0

    rounds = args.rounds or (1 if args.quick else 5)
    warmup, seconds = (0.1, 0.3) if args.quick else (0.5, 1.5)
    clients = args.clients.split(",")
    port_file = f"/tmp/requestx-ws-bench-{os.getpid()}.port"
    pin = ["taskset", "-c", "1"] if args.pin else []
    server = subprocess.Popen([*pin, sys.executable, __file__, "--serve", port_file])
    try:
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read():
                break
            time.sleep(0.05)
        url = f"ws://127.0.0.1:{open(port_file).read()}/"
        results: dict[tuple[str, int], list[dict]] = {}
        for r in range(rounds):
            order = clients[r % len(clients) :] + clients[: r % len(clients)]
            for size in SIZES:
                for client in order:
                    cpin = ["taskset", "-c", "0"] if args.pin else []
                    out = subprocess.run(
                        [*cpin, sys.executable, __file__, "--worker", client, url, str(size)]
                        + [str(warmup), str(seconds)],
                        capture_output=True,
                        text=True,
                        timeout=120,
                    )
                    if out.returncode != 0:
                        print(f"{client} {size} B failed: {out.stderr.strip()[-300:]}")
                        continue
                    results.setdefault((client, size), []).append(json.loads(out.stdout))
    finally:
        server.kill()
        server.wait()
        if os.path.exists(port_file):
            os.unlink(port_file)

    rows = []
    print(f"{'client':<16}{'size':>7}{'round trips/s':>15}{'p50 us':>9}{'p99 us':>9}  loop")
    for size in SIZES:
        base = None
        for client in clients:
            runs = results.get((client, size))
            if not runs:
                continue
            best = statistics.median(x["rps"] for x in runs)
            p50 = statistics.median(x["p50_us"] for x in runs)
            p99 = statistics.median(x["p99_us"] for x in runs)
            base = base or best
            rows.append({"client": client, "size": size, "rps": best, "p50_us": p50, "p99_us": p99})
            print(f"{client:<16}{size:>7}{best:>15,.0f}{p50:>9.0f}{p99:>9.0f}  {runs[0]['loop']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": rounds, "seconds": seconds, "results": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
