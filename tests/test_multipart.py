"""files= multipart bodies: byte for byte what requests sends, with the
random boundary normalised."""

from __future__ import annotations

import io
import re

import pytest
import requests

import requestx

CASES = {
    "dict-bytes": lambda: {"files": {"f": b"abc"}},
    "tuple2": lambda: {"files": {"f": ("a.txt", b"hello")}},
    "tuple3": lambda: {"files": {"f": ("a.txt", b"hello", "text/plain")}},
    "tuple4": lambda: {"files": {"f": ("a.txt", b"hello", "text/plain", {"X-Extra": "1"})}},
    "file-object": lambda: {"files": {"f": io.BytesIO(b"xyz")}},
    "named-file-object": lambda: {"files": {"f": _named(b"named", "dir/report.csv")}},
    "str-content": lambda: {"files": {"f": ("n", "unicode \u00fc")}},
    "list-with-data": lambda: {
        "files": [("f", ("1.txt", b"1")), ("f", ("2.txt", b"2"))],
        "data": {"a": "1", "b": ["x", "y"]},
    },
    "data-list-of-pairs": lambda: {"files": {"f": b"1"}, "data": [("k", "v"), ("k", "w")]},
    "quotes-and-newlines-in-filename": lambda: {"files": {"f": ('we"ird\\na\nme\r.txt', b"q")}},
    "no-filename": lambda: {"files": {"f": (None, b"just a field")}},
    "unicode-field-name": lambda: {"files": {"f\u00e9": ("\u00e9.txt", b"e")}},
    "none-file-skipped": lambda: {"files": {"f": None, "g": b"kept"}},
}


def _named(data: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def _body(module, url: str, kwargs: dict) -> tuple[bytes, bytes]:
    r = module.post(url, **kwargs)
    head, _, body = r.content.partition(b"\r\n\r\n")
    boundary = re.search(rb"boundary=([0-9a-f]+)", head).group(1)
    content_type = re.search(rb"(?im)^content-type: *([^;\r\n]*)", head).group(1)
    return content_type, body.replace(boundary, b"BOUNDARY")


@pytest.mark.parametrize("case", sorted(CASES))
def test_multipart_body_matches_requests(fault_server, case):
    url = fault_server + "/echo-raw"
    assert _body(requestx, url, CASES[case]()) == _body(requests, url, CASES[case]())


def test_files_with_string_data_is_refused_before_sending(isolated_fault_server):
    with pytest.raises(ValueError):
        requestx.post(isolated_fault_server + "/echo-raw", files={"f": b"x"}, data="a=b")
    assert isolated_fault_server.connections_accepted == 0
