"""Timeouts: float or (connect, read); ReadTimeout and ConnectTimeout."""

from __future__ import annotations

import pytest

import requestx
from requestx.exceptions import ConnectionError, ConnectTimeout, ReadTimeout, Timeout


def test_float_timeout_raises_read_timeout_when_headers_stall(fault_server):
    with pytest.raises(ReadTimeout):
        requestx.get(fault_server + "/stall-headers", timeout=0.3)


def test_tuple_timeout_raises_read_timeout_when_headers_stall(fault_server):
    with pytest.raises(ReadTimeout):
        requestx.get(fault_server + "/stall-headers", timeout=(2, 0.3))


def test_read_timeout_is_not_a_connection_error(fault_server):
    with pytest.raises(Timeout) as info:
        requestx.get(fault_server + "/stall-headers", timeout=0.3)
    assert not isinstance(info.value, ConnectionError)


@pytest.mark.requestx_only
def test_read_timeout_when_body_stalls(fault_server):
    """The issue asks for ReadTimeout here.  requests itself raises a
    ConnectionError wrapping urllib3's ReadTimeoutError when the stall happens
    while reading the body, so this one is specific to requestx."""
    with pytest.raises(ReadTimeout):
        requestx.get(fault_server + "/stall-body", timeout=0.3)


def test_stalled_body_is_also_a_connection_error_as_in_requests(fault_server):
    """Code written for requests catches ConnectionError here; it still works."""
    with pytest.raises(ConnectionError) as info:
        requestx.get(fault_server + "/stall-body", timeout=0.3)
    assert isinstance(info.value, ReadTimeout)


@pytest.mark.requestx_only
def test_read_timeout_when_streamed_body_stalls(fault_server):
    r = requestx.get(fault_server + "/stall-body", timeout=0.3, stream=True)
    assert r.status_code == 200
    with pytest.raises(ReadTimeout):
        for _ in r.iter_content(1024):
            pass


def test_stalled_body_raises_a_request_exception(fault_server):
    """Whatever the class, a stalled body must end in an error, not a hang or
    a silently short body."""
    with pytest.raises((ReadTimeout, ConnectionError)):
        requestx.get(fault_server + "/stall-body", timeout=0.3)


def test_streamed_headers_arrive_before_stalled_body_times_out(fault_server):
    r = requestx.get(fault_server + "/stall-body", timeout=0.3, stream=True)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == "100"
    r.close()


def test_read_timeout_applies_to_each_read_not_the_whole_body(fault_server):
    # 6 bytes, one every 0.15 s: ~0.9 s in total, but never 0.6 s of silence.
    r = requestx.get(fault_server + "/drip?n=6&interval=0.15", timeout=0.6)
    assert r.content == b"xxxxxx"


def test_generous_timeout_does_not_fire(httpbin):
    assert requestx.get(httpbin + "/get", timeout=(5, 5)).status_code == 200


def test_connect_timeout_with_tuple(stalled_connect_url):
    with pytest.raises(ConnectTimeout):
        requestx.get(stalled_connect_url, timeout=(0.3, 5))


def test_connect_timeout_with_float(stalled_connect_url):
    with pytest.raises(ConnectTimeout):
        requestx.get(stalled_connect_url, timeout=0.3)


def test_connect_timeout_is_connection_error_and_timeout(stalled_connect_url):
    with pytest.raises(ConnectionError) as info:
        requestx.get(stalled_connect_url, timeout=(0.3, 5))
    assert isinstance(info.value, Timeout)


def test_invalid_timeout_tuple_raises_value_error(isolated_fault_server):
    with pytest.raises(ValueError):
        requestx.get(isolated_fault_server + "/ok", timeout=(1, 2, 3))
