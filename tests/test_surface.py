"""The public surface that is not a request: exceptions, codes, structures,
auth helpers, top-level names, version."""

from __future__ import annotations

import inspect
import json
import pathlib
import re

import pytest
import requests

import requestx

REQUESTS_EXCEPTIONS = sorted(
    name
    for name, obj in vars(requests.exceptions).items()
    if inspect.isclass(obj)
    and issubclass(obj, BaseException)
    and obj.__module__ == "requests.exceptions"
)

REQUESTS_WARNINGS = sorted(
    name
    for name, obj in vars(requests.exceptions).items()
    if inspect.isclass(obj) and issubclass(obj, Warning)
)


# Ancestors that a drop-in must share: requests' own classes and the standard
# library's.  (requests also derives some classes from urllib3's exceptions,
# which an engine that does not use urllib3 cannot do.)
_SHARED_ANCESTOR_MODULES = {"requests.exceptions", "builtins", "json.decoder", "json"}


def _ancestor_names(cls, only_shared: bool = False) -> set:
    return {
        c.__name__
        for c in cls.__mro__
        if not only_shared or c.__module__ in _SHARED_ANCESTOR_MODULES
    }


# ---------------------------------------------------------------------------
# exceptions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", REQUESTS_EXCEPTIONS)
def test_exception_exists(name):
    assert inspect.isclass(getattr(requestx.exceptions, name, None)), name


@pytest.mark.parametrize("name", REQUESTS_EXCEPTIONS)
def test_exception_has_requests_ancestors(name):
    ours = getattr(requestx.exceptions, name)
    theirs = getattr(requests.exceptions, name)
    missing = _ancestor_names(theirs, only_shared=True) - _ancestor_names(ours)
    assert not missing, f"{name} lacks ancestors {missing}"


@pytest.mark.parametrize("name", REQUESTS_EXCEPTIONS)
def test_exception_is_a_builtin_exception_like_requests(name):
    ours = getattr(requestx.exceptions, name)
    theirs = getattr(requests.exceptions, name)
    for builtin in (OSError, ValueError, json.JSONDecodeError, Warning):
        assert issubclass(ours, builtin) == issubclass(theirs, builtin), builtin


@pytest.mark.parametrize(
    "name",
    ["RequestException", "Timeout", "URLRequired", "TooManyRedirects", "HTTPError",
     "ConnectionError", "FileModeWarning", "ConnectTimeout", "ReadTimeout", "JSONDecodeError"],
)  # fmt: skip
def test_exception_is_exported_at_top_level(name):
    assert getattr(requestx, name) is getattr(requestx.exceptions, name)


def test_connect_timeout_is_connection_error_and_timeout():
    exc = requestx.exceptions.ConnectTimeout
    assert issubclass(exc, requestx.exceptions.ConnectionError)
    assert issubclass(exc, requestx.exceptions.Timeout)


def test_read_timeout_is_timeout_but_not_connection_error():
    exc = requestx.exceptions.ReadTimeout
    assert issubclass(exc, requestx.exceptions.Timeout)
    assert not issubclass(exc, requestx.exceptions.ConnectionError)


def test_ssl_error_is_connection_error():
    assert issubclass(requestx.exceptions.SSLError, requestx.exceptions.ConnectionError)


def test_json_decode_error_is_stdlib_json_decode_error():
    exc = requestx.exceptions.JSONDecodeError
    assert issubclass(exc, json.JSONDecodeError)
    assert issubclass(exc, requestx.exceptions.InvalidJSONError)
    assert issubclass(exc, requestx.exceptions.RequestException)


def test_request_exception_carries_request_and_response():
    err = requestx.exceptions.RequestException("boom", request="REQ", response=None)
    assert err.request == "REQ"
    assert err.response is None


def test_request_exception_takes_request_from_response(httpbin):
    r = requestx.get(httpbin + "/get")
    err = requestx.exceptions.HTTPError("boom", response=r)
    assert err.request is r.request


def test_exceptions_are_catchable_as_requestx_request_exception(refused_url):
    with pytest.raises(requestx.RequestException):
        requestx.get(refused_url)


def test_json_decode_error_has_position_like_json(fault_server):
    r = requestx.get(fault_server + "/json-bad")
    with pytest.raises(requestx.exceptions.JSONDecodeError) as info:
        r.json()
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(r.text)
    assert (info.value.msg, info.value.pos) == (expected.value.msg, expected.value.pos)


@pytest.mark.parametrize("name", REQUESTS_WARNINGS)
def test_warning_classes_exist(name):
    assert issubclass(getattr(requestx.exceptions, name), Warning)


# ---------------------------------------------------------------------------
# codes
# ---------------------------------------------------------------------------


def test_codes_have_every_requests_name():
    names = [n for n in vars(requests.codes) if not n.startswith("_") and n != "name"]
    assert names, "requests.codes is empty?"
    mismatched = [
        n for n in names if getattr(requestx.codes, n, None) != getattr(requests.codes, n)
    ]
    assert mismatched == []


def test_codes_common_values():
    assert requestx.codes.ok == requestx.codes.OK == 200
    assert requestx.codes.not_found == 404
    assert requestx.codes["temporary_redirect"] == 307
    assert requestx.codes.teapot == 418


def test_codes_unknown_name_is_none():
    assert requestx.codes["no_such_status_name"] is None


def test_codes_are_importable_from_status_codes():
    from requestx.status_codes import codes

    assert codes is requestx.codes


# ---------------------------------------------------------------------------
# CaseInsensitiveDict
# ---------------------------------------------------------------------------


def _cid(*args, **kwargs):
    return requestx.structures.CaseInsensitiveDict(*args, **kwargs)


def test_case_insensitive_dict_lookup_ignores_case():
    d = _cid({"Content-Type": "text/plain"})
    assert d["content-type"] == d["CONTENT-TYPE"] == "text/plain"
    assert "content-TYPE" in d


def test_case_insensitive_dict_keeps_last_set_key_case():
    d = _cid()
    d["ACCEPT"] = "1"
    d["Accept"] = "2"
    assert list(d) == ["Accept"]
    assert d["accept"] == "2"


def test_case_insensitive_dict_delete_ignores_case():
    d = _cid({"X-A": "1"})
    del d["x-a"]
    assert len(d) == 0


def test_case_insensitive_dict_equality_ignores_case():
    assert _cid({"X-A": "1"}) == {"x-a": "1"}
    assert _cid({"X-A": "1"}) != {"x-a": "2"}


def test_case_insensitive_dict_lower_items():
    assert list(_cid({"X-A": "1"}).lower_items()) == [("x-a", "1")]


def test_case_insensitive_dict_copy_is_independent():
    d = _cid({"X-A": "1"})
    c = d.copy()
    c["x-a"] = "2"
    assert d["X-A"] == "1"
    assert isinstance(c, requestx.structures.CaseInsensitiveDict)


def test_case_insensitive_dict_repr_like_dict():
    assert repr(_cid({"X-A": "1"})) == "{'X-A': '1'}"


def test_case_insensitive_dict_get_and_setdefault():
    d = _cid()
    assert d.get("missing") is None
    d.setdefault("New-Key", "v")
    assert d["new-key"] == "v"


# ---------------------------------------------------------------------------
# auth helpers, top-level names, version
# ---------------------------------------------------------------------------


def test_http_basic_auth_sets_header():
    prepared = requestx.Request("GET", "http://127.0.0.1/", auth=None).prepare()
    requestx.auth.HTTPBasicAuth("user", "pass")(prepared)
    assert prepared.headers["Authorization"] == "Basic dXNlcjpwYXNz"


def test_http_basic_auth_equality():
    a = requestx.auth.HTTPBasicAuth("u", "p")
    assert a == requestx.auth.HTTPBasicAuth("u", "p")
    assert a != requestx.auth.HTTPBasicAuth("u", "other")


def test_auth_base_is_subclassable(fault_server):
    class TokenAuth(requestx.auth.AuthBase):
        def __call__(self, r):
            r.headers["X-Auth"] = "from-authbase"
            return r

    r = requestx.get(fault_server + "/echo-raw", auth=TokenAuth())
    assert b"X-Auth: from-authbase" in r.content


@pytest.mark.parametrize(
    "name",
    ["request", "get", "options", "head", "post", "put", "patch", "delete", "session",
     "Session", "Request", "Response", "PreparedRequest", "codes", "exceptions", "auth",
     "structures", "__version__"],
)  # fmt: skip
def test_top_level_name_exists(name):
    assert hasattr(requestx, name)


def test_prepare_request_without_sending():
    req = requestx.Request("POST", "http://127.0.0.1:1/p", data={"a": "1"}, params={"q": "x"})
    prepared = req.prepare()
    assert prepared.url == "http://127.0.0.1:1/p?q=x"
    assert prepared.body == "a=1"
    assert prepared.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_session_send_prepared_request(session, httpbin):
    prepared = session.prepare_request(requestx.Request("GET", httpbin + "/get", params={"a": 1}))
    r = session.send(prepared)
    assert r.json()["args"] == {"a": "1"}


@pytest.mark.requestx_only
def test_version_matches_package_version_file():
    text = pathlib.Path(requestx.__file__).with_name("__version__.py").read_text()
    declared = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]", text).group(1)
    assert requestx.__version__ == declared
