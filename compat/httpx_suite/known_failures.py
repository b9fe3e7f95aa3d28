"""Why tests of httpx's suite fail with requestx's transports: one entry per cause.

A failing test is matched to the first cause that lists its node id (without
parameters; an entry ending in "::" or "_" is a prefix), else to the first
cause whose ``match`` regex is found in its error message. Failures that also
fail with httpx's own transports (the control run) are not classified here.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional


class Cause(NamedTuple):
    category: str  # a key of CATEGORIES
    title: str
    diagnosis: str
    tests: tuple[str, ...] = ()  # node ids without parameters ("::" or "_" at the end: a prefix)
    match: Optional[str] = None  # a regex searched for in the error message


CATEGORIES = dict(
    a="requestx transport bug (to fix)",
    b="httpx's private internals (httpcore pools, transport attributes)",
    c="needs the network",
    d="deliberate documented difference (docs/httpx.md)",
)

CAUSES: list[Cause] = [
    Cause(
        "b",
        "httpcore's connection pool inspected",
        "The test reads `transport._pool` (httpcore's ConnectionPool, HTTPProxy or "
        "SOCKSProxy) to see which proxy URL a transport was given. requestx's transports "
        "have no httpcore pool: the engine holds the proxy, and tests/test_httpx_transport_"
        "options.py checks proxy selection against a real proxy instead.",
        match=r"object has no attribute '_pool'",
    ),
    Cause(
        "b",
        "httpcore imported on the first request",
        "The test asserts that sending a request imports httpcore (httpx's own transport is "
        "built on it). requestx's transports do not use httpcore.",
        tests=("tests/test_api.py::test_httpcore_lazy_loading",),
    ),
    Cause(
        "d",
        "write timeout not enforced on its own",
        "`Timeout(None, write=1e-6)` with a 100 MB upload: httpcore raises WriteTimeout when "
        "one socket write blocks that long. The engine has one inactivity timer per "
        "transfer, set from the read timeout, in which upload progress counts as activity; "
        "with read=None nothing bounds a stalled upload, so the server's early answer is "
        "returned. Documented in docs/httpx.md (timeouts); enforcing it needs a send "
        "deadline in the engine. (The trio variant also fails with httpx's own transport.)",
        tests=("tests/test_timeouts.py::test_write_timeout",),
    ),
]


def classify(nodeid: str, message: str) -> Optional[Cause]:
    base = nodeid.split("[", 1)[0]
    for cause in CAUSES:
        for test in cause.tests:
            if base == test or (test.endswith(("::", "_")) and base.startswith(test)):
                return cause
    for cause in CAUSES:
        if cause.match and re.search(cause.match, message):
            return cause
    return None
