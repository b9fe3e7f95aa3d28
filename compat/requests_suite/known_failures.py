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
LOW = "tests/test_lowlevel.py::"

CAUSES: list[Cause] = [
    # ---------------------------------------------------------------- (a)
    Cause(
        "a",
        "Proxy credentials sent to the HTTPS origin after a redirect (security)",
        "Proxy credentials leak to the HTTPS origin after a redirect: rebuild_proxies() puts "
        "Proxy-Authorization on the request for an https URL, and the engine then sends it "
        "inside the CONNECT tunnel to the server (requests adds it only for non-https URLs; "
        "CVE-2023-32681)",
        "requestx/sessions.py Session.rebuild_proxies",
        tests=(TR + "test_proxy_authorization_not_appended_to_https_request",),
    ),
    Cause(
        "a",
        "Hang: seeked body with __len__ announced with the wrong Content-Length",
        "Body length ignores the stream position for objects with __len__: a file-like body "
        "with __len__ and tell() read from position 2 is announced with Content-Length "
        "len(body) but only len-2 bytes are sent, so server and client wait on each other "
        "forever (requests' super_len subtracts tell())",
        "requestx/_body.py stream_length",
        tests=(TR + "test_POSTBIN_SEEKED_OBJECT_WITH_NO_ITER",),
    ),
    Cause(
        "a",
        "Conflicting Content-Length headers accepted",
        "A response with two different Content-Length values is accepted (headers joined "
        "as '16, 32', body read to the larger one); requests raises InvalidHeader",
        "the engine's header handling (requestx/_engine: abort before the body) or "
        "requestx/models.py Response._from_engine (headers are parsed lazily from "
        "raw_head, so a check there has to scan raw_head)",
        tests=(LOW + "test_conflicting_content_lengths",),
    ),
    Cause(
        "a",
        "IDNA 2003 host encoding (straße.de goes to strasse.de)",
        "Host names are encoded with IDNA 2003 (str.encode('idna')): 'straße.de' becomes "
        "'strasse.de', another domain (IDNA 2008 gives xn--strae-oqa.de), and '☃.net' is "
        "accepted instead of raising InvalidURL; requests uses the idna package (IDNA 2008 "
        "with UTS 46)",
        "requestx/_url.py _encode_host",
        tests=(TP + "test_preparing_url", TP + "test_preparing_bad_url"),
    ),
    Cause(
        "a",
        "verify=True ignores REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE",
        "An explicit verify=True ignores REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE: requests "
        "replaces verify True or None by the environment's bundle; requestx only when "
        "verify is None (compatibility.md only exempts verify=False and CA paths)",
        "requestx/sessions.py Session.merge_environment_settings "
        "(`verify is None and self.verify is True`) and Session._engine_settings_slow "
        "(`if verify is None`)",
        tests=(TR + "test_env_cert_bundles",),
    ),
    Cause(
        "a",
        "Overridden Session.get_redirect_target() not used",
        "A Session subclass that overrides get_redirect_target() is not consulted: the "
        "redirect loop follows only 301/302/303/307/308 with Location (requests loops "
        "`while self.get_redirect_target(resp)`)",
        "requestx/sessions.py Session._send (status check) and Session._follow "
        "(`while resp.is_redirect`)",
        tests=(TR + "test_custom_redirect_mixin",),
    ),
    Cause(
        "a",
        "Session.resolve_redirects() missing",
        "Session.resolve_redirects() does not exist (public Session method in requests' "
        "API reference: follow the redirects of a response got with "
        "allow_redirects=False)",
        "requestx/sessions.py Session (Session._follow/_redirect_step do the work)",
        tests=(
            TR + "test_cookielib_cookiejar_on_redirect",
            TR + "test_header_and_body_removal_on_redirect",
            TR + "test_manual_redirect_with_partial_body_read",
            TR + "test_transfer_enc_removal_on_redirect",
        ),
    ),
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
        "Response.raw is None when stream=False",
        "Response.raw is None when stream=False; requests keeps the (drained) raw "
        "response, whose read() returns b''",
        "requestx/models.py Response._from_engine (self.raw is set only in the streamed branch)",
        tests=(TR + "test_DIGEST_STREAM",),
    ),
    Cause(
        "a",
        "prepare() rejects mailto:, data:, http+unix:// URLs",
        "PreparedRequest.prepare() rejects URLs of other schemes (mailto:, data:, "
        "http+unix://) with InvalidSchema; requests prepares them (non-http: left as "
        "given; http+unix: params added) and raises InvalidSchema only when sending",
        "requestx/_url.py _prepare (both `raise InvalidSchema(...)`), called from "
        "PreparedRequest.prepare_url; the check belongs in Session.send",
        tests=(
            TP + "test_parameters_for_nonstandard_schemes",
            TP + "test_url_mutation",
            TR + "test_nonhttp_schemes_dont_check_URLs",
        ),
    ),
    Cause(
        "a",
        "Session headers set to None kept by prepare_request()",
        "Session.prepare_request() keeps session headers set to None (then raises "
        "InvalidHeader): merge_setting() drops only the None keys of the request's "
        "mapping, requests drops None values from the merged mapping",
        "requestx/sessions.py merge_setting",
        tests=(TR + "test_headers_on_session_with_None_are_not_sent",),
    ),
    Cause(
        "a",
        "bytes header names not converted to str",
        "Header names given as bytes stay bytes in PreparedRequest.headers, so "
        "headers['x-custom'] is a KeyError; requests converts names to str "
        "(to_native_string)",
        "requestx/models.py PreparedRequest.prepare_headers",
        tests=(TR + "test_header_with_subclass_types",),
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
        "Proxy URL 'http:/host:port' not rejected as InvalidProxyURL",
        "A proxy URL with a scheme but one slash ('http:/badproxyurl:3128') is taken as "
        "schemeless and becomes http://http:/..., failing later with ProxyError (curl 5) "
        "instead of InvalidProxyURL",
        "requestx/sessions.py _proxy_url (`'://' not in proxy`)",
        tests=(TR + "test_proxy_error_on_bad_url",),
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
        "a",
        "Chunked response cut inside its headers: ConnectionError",
        "A chunked response cut before the end of its header block raises "
        "ConnectionError (curl 18 while waiting for the response); requests raises "
        "ChunkedEncodingError",
        "requestx/exceptions.py _CURL_ERRORS[_PARTIAL_FILE] (phase WAIT)",
        tests=(LOW + "test_chunked_encoding_error",),
    ),
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
        "requests.sessions internals: monkeypatches requests.sessions.get_netrc_auth, or "
        "builds a fake session on SessionRedirectMixin and checks the exact keyword "
        "arguments resolve_redirects passes to send()",
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
