"""Why tests of requests' suite fail against requestx: one entry per cause.

A failing test is matched to the first cause that lists its node id (with or
without parameters; an entry ending in "::" or "_" is a prefix), else
to the first cause whose ``match`` regex is found in its error text.
``run.py`` reports failures no cause matches as unclassified.

When a requestx fix makes tests pass, they drop out of RESULTS.md by
themselves; delete the cause here once nothing matches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

CATEGORIES = {
    "a": "requestx bug in public behaviour",
    "b": "requests' private internals",
    "c": "needs the network",
    "d": "deliberate documented difference (docs/compatibility.md)",
}


@dataclass(frozen=True)
class Cause:
    category: str
    title: str  # a few words, for the overview table
    diagnosis: str
    where: str = ""
    tests: tuple[str, ...] = ()
    match: Optional[str] = None


R = "tests/test_requests.py::"
TR = R + "TestRequests::"
TP = R + "TestPreparingURLs::"

CAUSES: list[Cause] = [
    # (a) requestx bugs: none known at present; add them above (b).
    # ---------------------------------------------------------------- (b)
    Cause(
        "b",
        "Transport adapters and urllib3 pools",
        "Transport adapters: HTTPAdapter, Session.mount/get_adapter, Session.adapters "
        "contents, urllib3 pool managers (absent in requestx, documented in "
        "compatibility.md: libcurl is the transport)",
        tests=(
            "tests/test_adapters.py::",
            TP + "test_different_connection_pool_for_tls_settings_",
            TR + "test_session_close_proxy_clear",
            TR + "test_redirect_with_wrong_gzipped_header",
            TR + "test_transport_adapter_ordering",
            TR + "test_session_get_adapter_",
            TR + "test_proxy_auth",
            TR + "test_proxy_auth_empty_pass",
            R + "test_urllib3_pool_connection_closed",
            R + "test_urllib3_retries",
        ),
        match=r"\[shim\] requestx has no requests\.adapters\.",
    ),
    Cause(
        "b",
        "urllib3 objects",
        "urllib3 objects: urllib3.Timeout as a timeout, urllib3 exceptions raised by a "
        "mocked raw.stream(), the urllib3 exception nested in a Timeout's args",
        tests=(
            TR + "test_iter_content_wraps_exceptions",
            R + "TestTimeout::test_none_timeout[timeout1]",
            R + "TestTimeout::test_read_timeout[timeout1]",
            R + "TestTimeout::test_stream_timeout",
        ),
    ),
    Cause(
        "b",
        "requests.packages, requests.help",
        "requests.packages (urllib3, idna, chardet re-exported under requests' name) and "
        "requests.help (requests' bug-report helper)",
        tests=("tests/test_packages.py::", "tests/test_help.py", TR + "test_entry_points"),
        match=r"No module named 'requests\.(packages|help)'",
    ),
    Cause(
        "b",
        "requests.sessions internals",
        "requests.sessions internals: test_basicauth_with_netrc monkeypatches "
        "requests.sessions.get_netrc_auth, which requestx calls only when a .netrc file "
        "exists (Session._prepare checks self._environment()[2] first), so the patched "
        "function is never reached here; test_requests_are_updated_each_time builds a "
        "fake session on SessionRedirectMixin and checks the exact keyword arguments "
        "resolve_redirects passes to send()",
        tests=(TR + "test_basicauth_with_netrc", R + "test_requests_are_updated_each_time"),
    ),
]


def _matches_id(nodeid: str, pattern: str) -> bool:
    if pattern.endswith(("::", "_")):
        return nodeid.startswith(pattern)
    return nodeid == pattern or nodeid.split("[", 1)[0] == pattern


def classify(nodeid: str, text: str) -> Optional[Cause]:
    for cause in CAUSES:
        if any(_matches_id(nodeid, t) for t in cause.tests):
            return cause
    for cause in CAUSES:
        if cause.match and re.search(cause.match, text):
            return cause
    return None
