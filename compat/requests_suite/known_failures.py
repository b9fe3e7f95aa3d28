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
    # ---------------------------------------------------------------- (a)
    Cause(
        "a",
        "Session.should_strip_auth() missing",
        "Session.should_strip_auth() does not exist as a method (requests' Session has it "
        "from SessionRedirectMixin; requestx has only the module function "
        "sessions.should_strip_auth)",
        "requestx/sessions.py Session",
        tests=(TR + "test_should_strip_auth_",),
        match=r"'Session' object has no attribute 'should_strip_auth'",
    ),
    Cause(
        "a",
        "iter_content() on a plain file-like raw fails",
        "Response.iter_content() needs raw.stream(): a Response whose raw is a plain "
        "file-like object (io.BytesIO, as test doubles and mocking libraries build them) "
        "raises AttributeError; requests falls back to raw.read(chunk_size)",
        "requestx/models.py Response._chunks",
        tests=(
            TR + "test_response_is_iterable",
            TR + "test_response_decode_unicode",
            TR + "test_response_chunk_size_type",
        ),
        match=r"object has no attribute 'stream'",
    ),
    Cause(
        "a",
        "URL credentials beat .netrc",
        "Credentials in the URL beat .netrc in Session.request: for "
        "http://example.com:@host/ requestx sends 'example.com:' while requests (and "
        "requestx's own Session.prepare_request) use the .netrc entry of host",
        "requestx/sessions.py Session._prepare (netrc looked up only when `target.auth is None`)",
        tests=(TR + "test_basicauth_with_netrc_leak",),
    ),
    Cause(
        "a",
        "rebuild_proxies() returns ALL_PROXY under 'all'",
        "Session.rebuild_proxies() returns the environment's ALL_PROXY under the key "
        "'all'; requests returns it under the request's scheme",
        "requestx/sessions.py Session.rebuild_proxies",
        tests=(R + "test_proxy_env_vars_override_default",),
    ),
    Cause(
        "a",
        "Non-string basic-auth credentials raise TypeError",
        "Basic auth with non-string credentials (42, None) raises TypeError; requests 2.32 "
        "accepts them with a DeprecationWarning and uses str(value)",
        "requestx/auth.py _to_bytes",
        tests=(TR + "test_set_basicauth",),
    ),
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
        "requests.utils helpers",
        "requests.utils / requests._internal_utils helper functions (requests' helper "
        "module, not part of requestx's API)",
        match=r"\[shim\] requestx has no requests\.(utils|_internal_utils)\.",
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
