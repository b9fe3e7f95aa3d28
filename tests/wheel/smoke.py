"""A smoke test of an installed requestx wheel, run by `make wheel-test` in a
fresh venv where no system libcurl or libnghttp2 can be loaded.

It starts hypercorn on loopback (HTTP/1.1 and HTTP/2 over TLS, HTTP/3 over
QUIC on the same port, plain HTTP on another) with a trustme CA, and checks
what a user of the wheel relies on: HTTP, HTTPS with a private CA, an
untrusted certificate refused, HTTP/2, gzip/br/zstd bodies, HTTP/3, and that
the engine in use is the wheel's own. Exits non-zero on the first failure.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import socket
import sys
import tempfile
import threading
import time

import brotli
import trustme
import zstandard
from hypercorn.asyncio import serve
from hypercorn.config import Config

import requestx

BODY = b"requestx wheel smoke test\n" * 64
ENCODED = {
    "gzip": gzip.compress(BODY),
    "br": brotli.compress(BODY),
    "zstd": zstandard.ZstdCompressor().compress(BODY),
}


async def app(scope, receive, send):  # noqa: ANN001, ANN201 - ASGI
    if scope["type"] == "lifespan":
        while True:
            event = (await receive())["type"]  # lifespan.startup, then lifespan.shutdown
            await send({"type": event + ".complete"})
            if event == "lifespan.shutdown":
                return
    path = scope["path"]
    headers = [(b"content-type", b"text/plain")]
    if path.startswith("/encoded/"):
        coding = path.rsplit("/", 1)[1]
        body = ENCODED[coding]
        headers.append((b"content-encoding", coding.encode()))
    else:
        body = f"{scope['http_version']} {path}".encode()
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def free_port() -> int:
    # a port free on both TCP and UDP: QUIC shares the TLS port number
    while True:
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port


def start_server(tmp: str) -> tuple[str, str, str]:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca_file = os.path.join(tmp, "ca.pem")
    ca.cert_pem.write_to_path(ca_file)
    chain = os.path.join(tmp, "chain.pem")
    key = os.path.join(tmp, "key.pem")
    cert.cert_chain_pems[0].write_to_path(chain)
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(chain, append=True)
    cert.private_key_pem.write_to_path(key)
    tls_port, plain_port = free_port(), free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{tls_port}"]
    config.quic_bind = [f"127.0.0.1:{tls_port}"]
    config.insecure_bind = [f"127.0.0.1:{plain_port}"]
    config.certfile, config.keyfile = chain, key
    config.alpn_protocols = ["h2", "http/1.1"]
    config.loglevel = "WARNING"

    async def run() -> None:
        # a trigger that never fires: without one, hypercorn installs signal
        # handlers, which only the main thread may
        await serve(app, config, shutdown_trigger=asyncio.Event().wait)

    threading.Thread(target=asyncio.run, args=(run(),), daemon=True).start()
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
            socket.create_connection(("127.0.0.1", plain_port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return f"https://localhost:{tls_port}", f"http://127.0.0.1:{plain_port}", ca_file


def check(name: str, condition: bool, detail: object = "") -> None:
    print(f"{'ok  ' if condition else 'FAIL'} {name}{f': {detail}' if detail else ''}")
    if not condition:
        sys.exit(1)


def engine_libraries() -> list[str]:
    with open("/proc/self/maps", encoding="utf-8") as maps:
        paths = {line.split()[-1] for line in maps if "/" in line}
    return sorted(p for p in paths if "libcurl" in p or "libnghttp2" in p)


def main() -> None:
    check("the wheel's engine is in use", "site-packages" in requestx._engine.__file__)
    check("it carries its own libcurl", requestx.curl_version().startswith("libcurl/8."))
    features = requestx._engine.features()
    check("features", {"http2", "http3", "br", "zstd", "gzip", "ssl"} <= features, features)
    with tempfile.TemporaryDirectory() as tmp:
        https, http, ca_file = start_server(tmp)
        with requestx.Session() as s:
            r = s.get(http + "/plain", timeout=10)
            check("HTTP", r.status_code == 200 and r.text.endswith("/plain"), r.text)
            r = s.get(https + "/tls", verify=ca_file, timeout=10)
            check("HTTPS with a private CA", r.status_code == 200, r.http_version)
            try:
                s.get(https + "/untrusted", timeout=10)
            except requestx.exceptions.SSLError as exc:
                check("an untrusted certificate is refused", True, type(exc).__name__)
            else:
                check("an untrusted certificate is refused", False)
        with requestx.Session(http2=True) as s:
            r = s.get(https + "/h2", verify=ca_file, timeout=10)
            check("HTTP/2", r.http_version == "HTTP/2" and r.text.startswith("2"), r.http_version)
            for coding in ENCODED:
                r = s.get(https + "/encoded/" + coding, verify=ca_file, timeout=10)
                check(f"{coding} body", r.content == BODY, len(r.content))
        with requestx.Session(http3=True) as s:
            versions = [
                s.get(https + f"/h3/{i}", verify=ca_file, timeout=10).http_version for i in range(3)
            ]
            check("HTTP/3", versions[-1] == "HTTP/3", versions)
        loaded = engine_libraries()
        check("no system libcurl or libnghttp2 loaded", loaded == [], loaded)
    print("wheel smoke test passed")


if __name__ == "__main__":
    main()
