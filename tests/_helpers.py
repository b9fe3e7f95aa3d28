"""Small helpers shared by the test modules."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

# Environment variables that send traffic through a proxy.
PROXY_ENV_VARS = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
)
# ... and everything else that changes where requests go or which CAs are
# trusted; the suite runs without them (tests that need one set it).
ENV_VARS = PROXY_ENV_VARS + ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC", "CURL_HOME")


@dataclass
class Wire:
    """A request as the server received it (the body of /echo-raw)."""

    request_line: str
    headers: list  # (name, value) in wire order, names as sent
    body: bytes

    @property
    def method(self) -> str:
        return self.request_line.split(" ", 1)[0]

    @property
    def target(self) -> str:
        return self.request_line.split(" ")[1]

    @property
    def names(self) -> set:
        return {name.lower() for name, _ in self.headers}

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None

    def get_all(self, name: str) -> list:
        return [v for n, v in self.headers if n.lower() == name.lower()]


def parse_wire(raw: bytes) -> Wire:
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, f"no end of header block in {raw[:200]!r}"
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name, value.strip(" \t")))
    return Wire(lines[0], headers, body)


def connection_last(headers: list) -> list:
    """Header fields with Connection moved to the end: libcurl 8 writes it
    after every other field, 7.88 where it was given. The order of fields
    with different names carries no meaning (RFC 9110, section 5.3)."""
    return [f for f in headers if f[0].lower() != "connection"] + [
        f for f in headers if f[0].lower() == "connection"
    ]


def token() -> str:
    """A unique marker to find one test's requests in a shared server's log."""
    return uuid.uuid4().hex


def wait_until(predicate, timeout: float = 3.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` expires."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
