"""Corner cases where requests' behaviour is the contract, checked against
requests itself on the same fault server."""

from __future__ import annotations

import io

import pytest
import requests

import requestx


class ShortStream:
    """Claims (through __len__) more bytes than read() gives."""

    def __init__(self, data: bytes, claimed: int) -> None:
        self._data = io.BytesIO(data)
        self._claimed = claimed

    def __len__(self) -> int:
        return self._claimed

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


def test_streamed_body_shorter_than_its_length_fails_instead_of_hanging(fault_server):
    with pytest.raises(requestx.ConnectionError, match="ended after 4 of its 10 bytes"):
        requestx.post(fault_server + "/echo-raw", data=ShortStream(b"abcd", 10), timeout=5)
    assert requestx.get(fault_server + "/ok").text == "ok\n"


def test_seeked_file_sends_from_its_position_like_requests(fault_server):
    bodies = []
    for module in (requests, requestx):
        f = io.BytesIO(b"0123456789")
        f.seek(4)
        r = module.post(fault_server + "/echo-raw", data=f)
        bodies.append(r.content.split(b"\r\n\r\n", 1)[1])
    assert bodies[0] == bodies[1] == b"456789"


@pytest.mark.parametrize("module", [requests, requestx], ids=["requests", "requestx"])
def test_conflicting_content_lengths_raise_invalid_header(fault_server, module):
    with pytest.raises(module.exceptions.InvalidHeader):
        module.get(fault_server + "/conflicting-length")


@pytest.mark.parametrize("module", [requests, requestx], ids=["requests", "requestx"])
def test_header_block_cut_by_the_connection_end_is_a_chunked_encoding_error(fault_server, module):
    with pytest.raises(module.exceptions.ChunkedEncodingError):
        module.get(fault_server + "/headers-cut")


def test_session_works_after_conflicting_lengths(fault_server):
    with requestx.Session() as s:
        with pytest.raises(requestx.exceptions.InvalidHeader):
            s.get(fault_server + "/conflicting-length")
        assert s.get(fault_server + "/ok").text == "ok\n"
