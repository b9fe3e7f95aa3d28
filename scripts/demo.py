"""A short, self-contained tour of requestx.

requestx is a drop-in for ``requests`` whose engine is C over libcurl, so the
code below is ordinary requests code.  The script starts its own little HTTP
server on 127.0.0.1 (and, for the timing part, a private nginx if one is
installed), then walks through:

  1. a GET with query parameters, decoding JSON
  2. a POST with a JSON body, echoed back by the server
  3. a Session keeping a cookie across a redirect
  4. a streamed 20 MiB download with iter_content (memory stays flat)
  5. 2,000 sequential GETs: requests vs requestx, one Session each

Run it with:  .venv/bin/python scripts/demo.py      (takes a few seconds)
Nothing leaves the machine; everything binds to 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # for the private nginx (servers.py)

try:
    import requestx
except ImportError as exc:
    sys.exit(
        f"requestx is not importable ({exc}).\n"
        "Build and install it first, e.g.:  .venv/bin/pip install -e ."
    )

TIMED_REQUESTS = 2000
WARMUP_REQUESTS = 100
DOWNLOAD_BLOCK = bytes(range(256)) * 256  # 64 KiB
DOWNLOAD_BLOCKS = 320  # 320 x 64 KiB = 20 MiB
DOWNLOAD_SIZE = len(DOWNLOAD_BLOCK) * DOWNLOAD_BLOCKS
SESSION_COOKIE = ("session_id", "demo-4f2a")


# ---------------------------------------------------------------------------
# The local demo server (standard library only).
# ---------------------------------------------------------------------------


def _download_digest() -> str:
    digest = hashlib.sha256()
    for _ in range(DOWNLOAD_BLOCKS):
        digest.update(DOWNLOAD_BLOCK)
    return digest.hexdigest()


DOWNLOAD_SHA256 = _download_digest()


class DemoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real server
    server_version = "demo-server/1.0"

    def log_message(self, format, *args):  # keep the demo output readable
        pass

    def _send_json(self, status: int, payload, extra_headers=()) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/hello":
            args = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._send_json(
                200,
                {
                    "message": f"hello, {args.get('name', 'stranger')}!",
                    "args": args,
                    "user_agent": self.headers.get("User-Agent"),
                },
            )
        elif url.path == "/login":
            # A 302 hop that sets a cookie; the client must send it to /account.
            name, value = SESSION_COOKIE
            self.send_response(302)
            self.send_header("Location", "/account")
            self.send_header("Set-Cookie", f"{name}={value}; Path=/; HttpOnly")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/account":
            cookie_header = self.headers.get("Cookie") or ""
            self._send_json(
                200,
                {
                    "cookie_header_received": cookie_header,
                    "logged_in": "=".join(SESSION_COOKIE) in cookie_header,
                },
            )
        elif url.path == "/download":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(DOWNLOAD_SIZE))
            self.send_header("X-Content-SHA256", DOWNLOAD_SHA256)
            self.end_headers()
            try:
                for _ in range(DOWNLOAD_BLOCKS):
                    self.wfile.write(DOWNLOAD_BLOCK)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif url.path == "/json":
            self._send_json(200, {"id": 1024, "name": "requestx", "ok": True})
        else:
            self._send_json(404, {"error": "not found", "path": url.path})

    def do_POST(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if url.path != "/echo":
            self._send_json(404, {"error": "not found", "path": url.path})
            return
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        self._send_json(
            200,
            {
                "json": parsed,
                "content_type": self.headers.get("Content-Type"),
                "bytes_received": len(raw),
            },
        )


class DemoServer:
    """ThreadingHTTPServer on a free loopback port, served from a daemon thread."""

    def __enter__(self) -> DemoServer:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), DemoHandler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


# ---------------------------------------------------------------------------
# Output helpers.
# ---------------------------------------------------------------------------


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: list = []

    def check(self, ok: bool, what: str) -> None:
        if ok:
            self.passed += 1
            print(f"   [ok]   {what}")
        else:
            self.failed.append(what)
            print(f"   [FAIL] {what}")


def section(number: int, title: str) -> None:
    print(f"\n{number}. {title}\n" + "-" * (len(title) + 3))


def code(line: str) -> None:
    print(f"   >>> {line}")


def show(label: str, value) -> None:
    print(f"       {label:<14} {value}")


def rss_bytes() -> int:
    """Current resident set size of this process (Linux), else peak RSS."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


# ---------------------------------------------------------------------------
# The tour.
# ---------------------------------------------------------------------------


def demo_get(base: str, checks: Checks) -> None:
    section(1, "A GET with query parameters")
    code(f'r = requestx.get("{base}/hello", params={{"name": "newcomer"}})')
    t0 = time.perf_counter()
    r = requestx.get(f"{base}/hello", params={"name": "newcomer"}, timeout=10)
    elapsed = time.perf_counter() - t0
    show("r", f"{r!r} in {elapsed * 1000:.1f} ms")
    show("r.url", r.url)
    show("content-type", r.headers.get("Content-Type"))
    show("r.json()", r.json())
    checks.check(r.status_code == 200, "status 200")
    checks.check(r.json().get("message") == "hello, newcomer!", "the query parameter arrived")


def demo_post(base: str, checks: Checks) -> None:
    section(2, "A POST with a JSON body (the server echoes it back)")
    payload = {"user": "ada", "languages": ["python", "c"], "admin": False, "score": 9.5}
    code(f"payload = {payload}")
    code(f'r = requestx.post("{base}/echo", json=payload)')
    r = requestx.post(f"{base}/echo", json=payload, timeout=10)
    echoed = r.json()
    show("r", repr(r))
    show("sent as", echoed.get("content_type"))
    show("echoed json", echoed.get("json"))
    checks.check(r.status_code == 200, "status 200")
    checks.check(echoed.get("json") == payload, "the echoed JSON equals what we sent")
    checks.check(
        (echoed.get("content_type") or "").startswith("application/json"),
        "json= set Content-Type: application/json",
    )


def demo_cookies(base: str, checks: Checks) -> None:
    section(3, "A Session keeps cookies across a redirect")
    print("   /login answers 302 -> /account and sets a cookie on the way.")
    code("s = requestx.Session()")
    code(f'r = s.get("{base}/login")')
    with requestx.Session() as s:
        r = s.get(f"{base}/login", timeout=10)
        body = r.json()
        show("r.history", r.history)
        show("r.url", r.url)
        show("s.cookies", s.cookies.get_dict())
        show("server saw", f"Cookie: {body.get('cookie_header_received')!r}")
        checks.check([h.status_code for h in r.history] == [302], "followed one 302 redirect")
        checks.check(r.url.endswith("/account"), "ended up on /account")
        checks.check(
            s.cookies.get(SESSION_COOKIE[0]) == SESSION_COOKIE[1], "the session stored the cookie"
        )
        checks.check(body.get("logged_in") is True, "the cookie was sent on the redirected request")


def demo_stream(base: str, checks: Checks) -> None:
    section(4, f"A streamed download of {mib(DOWNLOAD_SIZE)} with iter_content")
    code(f'with s.get("{base}/download", stream=True) as r:')
    code("    for chunk in r.iter_content(chunk_size=64 * 1024): ...")
    digest = hashlib.sha256()
    chunks = received = 0
    report_every = DOWNLOAD_SIZE // 4
    next_report = report_every
    rss_before = rss_peak = rss_bytes()
    t0 = time.perf_counter()
    with requestx.Session() as s:
        with s.get(f"{base}/download", stream=True, timeout=30) as r:
            expected_sha = r.headers.get("X-Content-SHA256")
            for chunk in r.iter_content(chunk_size=64 * 1024):
                chunks += 1
                received += len(chunk)
                digest.update(chunk)
                if chunks % 16 == 0:
                    rss_peak = max(rss_peak, rss_bytes())
                    if received >= next_report:
                        show("progress", f"{mib(received):>9} in {chunks:>3} chunks")
                        next_report += report_every
    elapsed = time.perf_counter() - t0
    rss_peak = max(rss_peak, rss_bytes())
    growth = rss_peak - rss_before
    show("received", f"{received:,} bytes in {chunks} chunks, {elapsed:.2f}s")
    show("throughput", f"{received / elapsed / 2**20:.0f} MiB/s")
    show("memory (RSS)", f"{mib(rss_before)} before, peak {mib(rss_peak)} (+{mib(growth)})")
    checks.check(r.status_code == 200, "status 200")
    checks.check(received == DOWNLOAD_SIZE, f"received all {DOWNLOAD_SIZE:,} bytes")
    checks.check(digest.hexdigest() == expected_sha, "SHA-256 matches the server's")
    checks.check(
        growth < DOWNLOAD_SIZE // 4,
        f"memory stayed flat (grew {mib(growth)} for a {mib(DOWNLOAD_SIZE)} body)",
    )


def _time_session(session, url: str, n: int) -> float:
    for _ in range(WARMUP_REQUESTS):
        body = session.get(url).content
    t0 = time.perf_counter()
    for _ in range(n):
        r = session.get(url)
        body = r.content
    elapsed = time.perf_counter() - t0
    if r.status_code != 200 or not body:
        raise RuntimeError(f"unexpected status {r.status_code} from {url}")
    return elapsed


def demo_timing(url: str, server_label: str, checks: Checks) -> None:
    section(5, f"{TIMED_REQUESTS:,} sequential GETs: requests vs requestx")
    print(f"   Server: {server_label}")
    print("   One Session each, keep-alive, body read every time.")
    try:
        import requests
    except ImportError:
        print("   (requests is not installed: pip install requests -- skipping this part)")
        return
    rates = {}
    for name, module in (("requests", requests), ("requestx", requestx)):
        with module.Session() as s:
            elapsed = _time_session(s, url, TIMED_REQUESTS)
        rates[name] = TIMED_REQUESTS / elapsed
        show(name, f"{elapsed:6.3f}s  = {rates[name]:>9,.0f} req/s")
    ratio = rates["requestx"] / rates["requests"]
    print(f"\n   requestx: {ratio:.1f}x the throughput of requests, same code, same server.")
    print("   (Repeatable figures against every peer: make bench.)")
    checks.check(ratio > 1.0, "requestx was faster than requests")


def start_nginx():
    """The benchmarks' private nginx, or None if nginx is not installed."""
    try:
        from servers import NginxServer, ServerError, find_nginx
    except ImportError:
        return None
    if find_nginx() is None:
        return None
    try:
        return NginxServer().start()
    except ServerError as exc:
        print(f"(could not start nginx, timing against the demo server instead: {exc})")
        return None


def main() -> int:
    started = time.perf_counter()
    try:
        from servers import raise_on_sigterm

        raise_on_sigterm()  # so a SIGTERM still stops the servers cleanly
    except ImportError:
        pass
    where = Path(requestx.__file__).parent
    print(f"requestx {requestx.__version__} (C engine over libcurl) from {where}")
    print("Starting a local demo server on 127.0.0.1 ...")
    checks = Checks()
    # nginx first: servers.py only arms its "die with the parent" safety net
    # while this process is still single-threaded.
    nginx = start_nginx()
    try:
        with DemoServer() as server:
            print(f"Demo server at {server.base}")
            if nginx is not None:
                timing_url = nginx.url("/json")
                timing_label = f"nginx at {timing_url} (small JSON body)"
            else:
                timing_url = f"{server.base}/json"
                timing_label = (
                    f"the Python demo server at {timing_url} -- nginx is not installed, so "
                    "the server, not the client, limits the speed here"
                )
            steps = [
                lambda: demo_get(server.base, checks),
                lambda: demo_post(server.base, checks),
                lambda: demo_cookies(server.base, checks),
                lambda: demo_stream(server.base, checks),
                lambda: demo_timing(timing_url, timing_label, checks),
            ]
            for step in steps:
                try:
                    step()
                except Exception as exc:  # show the error and carry on with the tour
                    checks.failed.append(f"{type(exc).__name__}: {exc}")
                    print(f"   [FAIL] {type(exc).__name__}: {exc}")
                    traceback.print_exc(limit=3, file=sys.stdout)
    except KeyboardInterrupt:
        print("\ninterrupted")
        return 130
    finally:
        if nginx is not None:
            nginx.stop()

    total = time.perf_counter() - started
    print(f"\nDone in {total:.1f}s: {checks.passed} checks passed, {len(checks.failed)} failed.")
    for what in checks.failed:
        print(f"   failed: {what}")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
