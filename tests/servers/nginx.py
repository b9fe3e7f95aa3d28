"""A private nginx on loopback for HTTP/2 tests: h2 over TLS (ALPN), h2c
(prior knowledge) and plain HTTP/1.1 (http1_url, for load a Python server
cannot give), with an access log that records nginx's connection serial
number, so tests can count the connections a client used."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

CONF = """
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    log_format conn '$connection $server_protocol';
    access_log {root}/access.log conn;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    keepalive_requests 100000;
    http2_max_concurrent_streams 256;
    server {{
        listen 127.0.0.1:{tls_port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {cert};
        location / {{ return 200 'h2 ok'; }}
    }}
    server {{
        listen 127.0.0.1:{plain_port} http2;
        location / {{ return 200 'h2c ok'; }}
    }}
    server {{
        listen 127.0.0.1:{http1_port};
        location / {{ return 200 'http/1.1 ok'; }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NginxH2:
    """``with NginxH2(cert_pem_path) as n:`` n.tls_url, n.plain_url, n.http1_url, n.log()."""

    def __init__(self, cert_and_key_pem: str) -> None:
        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.root = tempfile.mkdtemp(prefix="requestx-nginx-")
        self.tls_port, self.plain_port = _free_port(), _free_port()
        self.http1_port = _free_port()
        self.tls_url = f"https://127.0.0.1:{self.tls_port}"
        self.plain_url = f"http://127.0.0.1:{self.plain_port}"
        self.http1_url = f"http://127.0.0.1:{self.http1_port}"
        with open(os.path.join(self.root, "nginx.conf"), "w") as f:
            f.write(
                CONF.format(
                    root=self.root,
                    cert=cert_and_key_pem,
                    tls_port=self.tls_port,
                    plain_port=self.plain_port,
                    http1_port=self.http1_port,
                )
            )
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> NginxH2:
        conf = os.path.join(self.root, "nginx.conf")
        self.proc = subprocess.Popen(
            [self.binary, "-c", conf, "-p", self.root],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.plain_port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("nginx did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def reset_log(self) -> None:
        open(os.path.join(self.root, "access.log"), "w").close()

    def log(self) -> list[tuple[str, str]]:
        """(connection serial, protocol) of every request since reset_log()."""
        time.sleep(0.05)  # nginx writes the log line after the response
        with open(os.path.join(self.root, "access.log")) as f:
            return [tuple(line.split()[:2]) for line in f if line.strip()]  # type: ignore[misc]
