"""Our server-sent-events server for the benchmarks (nginx cannot make SSE).

``GET /sse?n=N`` answers with N small events as ``text/event-stream`` in
HTTP/1.1 chunked encoding, the way SSE endpoints of web frameworks send them
(no Content-Length).  Each event looks like an LLM token::

    id: 41
    data: {"i":41,"delta":"token"}

``GET /sse?n=N&interval_ms=D`` is the slow stream: each event is its own
chunk, written D milliseconds after the one before (for poking at how a client
delivers events as they arrive; the benchmark's figures use the fast form).

The fast response (headers, chunks of 16 KiB, the last chunk) is rendered
once per N and then written with one ``sendall``, so the server costs next to
nothing per event: ``python benchmarks/stream_server.py --self-test`` measures
it alone with ``curl`` (the report quotes that figure), which is far above what
any client parses.  Connections are kept alive; one thread per connection.

Started as a subprocess by ``StreamServer`` (a context manager, like
servers.NginxServer), which reads the port from the server's first line.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
CHUNK = 16 * 1024
MAX_EVENTS = 10_000_000


def event(i: int) -> bytes:
    return b'id: %d\ndata: {"i":%d,"delta":"token"}\n\n' % (i, i)


def render_sse(n: int) -> bytes:
    """The whole chunked HTTP response carrying events 0..n-1."""
    body = b"".join(event(i) for i in range(n))
    chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
    wire = [b"%x\r\n%s\r\n" % (len(c), c) for c in chunks]
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    return head + b"".join(wire) + b"0\r\n\r\n"


def send_slowly(conn: socket.socket, n: int, interval: float) -> None:
    """Events 0..n-1, one chunk each, ``interval`` seconds apart."""
    conn.sendall(render_sse(0)[: -len(b"0\r\n\r\n")])  # the head alone
    for i in range(n):
        if i:
            time.sleep(interval)
        data = event(i)
        conn.sendall(b"%x\r\n%s\r\n" % (len(data), data))
    conn.sendall(b"0\r\n\r\n")


def respond(conn: socket.socket, target: str, cache: dict) -> None:
    url = urlsplit(target)
    if url.path != "/sse":
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        return
    query = parse_qs(url.query)
    n = int(query.get("n", ["1000"])[0])
    interval_ms = float(query.get("interval_ms", ["0"])[0])
    if not 0 <= n <= MAX_EVENTS or interval_ms < 0:
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    elif interval_ms:
        send_slowly(conn, n, interval_ms / 1000.0)
    else:
        if n not in cache:
            cache[n] = render_sse(n)
        conn.sendall(cache[n])


def serve_connection(conn: socket.socket, cache: dict) -> None:
    """Answer the requests on one connection until the client closes it.
    Request bodies are not expected (GET only)."""
    buffer = b""
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            parts = head.split(b"\r\n", 1)[0].split()
            if len(parts) != 3:
                return
            try:
                respond(conn, parts[1].decode("latin-1"), cache)
            except OSError:
                return


def serve(port: int) -> None:
    listener = socket.create_server((HOST, port), backlog=128)
    print(f"listening on {listener.getsockname()[1]}", flush=True)
    cache: dict = {}
    while True:
        conn, _addr = listener.accept()
        threading.Thread(target=serve_connection, args=(conn, cache), daemon=True).start()


class StreamServer:
    """The server as a child process on a free loopback port; stops on exit."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    def url(self, n: int) -> str:
        return f"http://{HOST}:{self.port}/sse?n={n}"

    def __enter__(self) -> StreamServer:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--port", "0"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening on "):
            self.__exit__()
            raise RuntimeError(f"stream server did not start: {line!r}")
        self.port = int(line.split()[-1])
        return self

    def __exit__(self, *exc_info) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=5)
            self.proc.stdout.close()
            self.proc = None


def self_test(n: int) -> dict:
    """Events/s of the server alone, read by ``curl -o /dev/null`` (best of 3;
    the first request renders the response, so it is not timed)."""
    with StreamServer() as server:
        url = server.url(n)
        subprocess.run(["curl", "-s", "-o", "/dev/null", url], check=True)
        best = None
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(["curl", "-s", "-o", "/dev/null", url], check=True)
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
    return {"events": n, "seconds": best, "events_per_s": n / best}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--self-test", action="store_true", help="measure with curl and exit")
    parser.add_argument("-n", type=int, default=100_000, help="events for --self-test")
    args = parser.parse_args()
    if args.self_test:
        result = self_test(args.n)
        print(
            f"{result['events']:,} events in {result['seconds']:.3f}s (curl, process "
            f"start included): {result['events_per_s']:,.0f} events/s"
        )
        return 0
    try:
        serve(args.port)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
