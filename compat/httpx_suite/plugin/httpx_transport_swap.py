"""pytest plugin used by ../run.py: makes requestx's transports httpx's own.

With HTTPX_SUITE_TRANSPORT=requestx, httpx.HTTPTransport and
httpx.AsyncHTTPTransport are replaced by requestx.HTTPTransport and
requestx.AsyncHTTPTransport before any test runs: in the ``httpx`` package
(what tests construct and check with isinstance) and in ``httpx._client``,
where Client._init_transport and _init_proxy_transport build the default and
the proxy transports. With any other value (the control run) nothing changes.
"""

from __future__ import annotations

import os
from typing import Any

_NAMES = ("HTTPTransport", "AsyncHTTPTransport")


def pytest_configure(config: Any) -> None:
    if os.environ.get("HTTPX_SUITE_TRANSPORT") != "requestx":
        return
    import httpx
    import httpx._client
    import httpx._transports

    import requestx

    for module in (httpx, httpx._client, httpx._transports):
        for name in _NAMES:
            setattr(module, name, getattr(requestx, name))


def pytest_report_header(config: Any) -> str:
    import httpx

    transport = httpx._client.HTTPTransport
    return f"httpx transport under test: {transport.__module__}.{transport.__qualname__}"
