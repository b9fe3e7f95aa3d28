"""The retry policy and breaker on the httpx transports, and the session
details the resilience tests leave out: a plain HTTPAdapter mounted over a
session's retries, and libcurl's re-send seen on the response."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest
from _helpers import token

import requestx
from requestx.adapters import HTTPAdapter

httpx = pytest.importorskip("httpx")


def fail_url(server, **query):
    key = token()
    return key, server.url + "/fail-n-times?" + urlencode({"key": key, **query})


def test_sync_transport_retry_retries_a_status(fault_server, sleeps):
    key, url = fail_url(fault_server, n=2)
    retry = requestx.Retry(total=3, status_forcelist=[503])
    with httpx.Client(transport=requestx.HTTPTransport(retries=retry)) as client:
        r = client.get(url)
    assert r.status_code == 200
    assert len(fault_server.requests_with(key)) == 3
    assert len(r.retries.history) == 2


def test_sync_transport_retry_retries_a_refused_connection(refused_url, sleeps):
    retry = requestx.Retry(total=2, backoff_factor=0.5)
    with httpx.Client(transport=requestx.HTTPTransport(retries=retry)) as client:
        with pytest.raises(httpx.ConnectError) as info:
            client.get(refused_url + "/")
    assert len(info.value.retries.history) == 2  # three attempts
    assert sleeps == [1.0]  # urllib3's backoff: none after the first failure, then 0.5 * 2


def test_async_transport_retry_and_breaker(fault_server, sleeps):
    key, url = fail_url(fault_server, n=1)
    breaker = requestx.CircuitBreaker(failure_threshold=100)

    async def main():
        transport = requestx.AsyncHTTPTransport(
            retries=requestx.Retry(total=3, status_forcelist=[503]), breaker=breaker
        )
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.get(url)

    r = asyncio.run(main())
    assert r.status_code == 200
    assert len(fault_server.requests_with(key)) == 2


def test_transport_breaker_counts_refused_connections(refused_url):
    breaker = requestx.CircuitBreaker(failure_threshold=2)
    with httpx.Client(transport=requestx.HTTPTransport(breaker=breaker)) as client:
        for _ in range(2):
            with pytest.raises(httpx.ConnectError):
                client.get(refused_url + "/")
        with pytest.raises(requestx.exceptions.CircuitOpenError):
            client.get(refused_url + "/")
    assert breaker.state(refused_url) == "open"


def test_request_extension_turns_the_transport_policy_off(fault_server, sleeps):
    key, url = fail_url(fault_server, n=1)
    retry = requestx.Retry(total=3, status_forcelist=[503])
    with httpx.Client(transport=requestx.HTTPTransport(retries=retry)) as client:
        r = client.get(url, extensions={"retries": 0})
    assert r.status_code == 503
    assert len(fault_server.requests_with(key)) == 1


def test_an_int_keeps_httpx_meaning_connect_failures_only(fault_server, sleeps):
    key, url = fail_url(fault_server, n=1)
    with httpx.Client(transport=requestx.HTTPTransport(retries=3)) as client:
        assert client.get(url).status_code == 503  # a status is never retried
    assert len(fault_server.requests_with(key)) == 1


def test_mounting_a_plain_http_adapter_turns_session_retries_off(fault_server, sleeps):
    key, url = fail_url(fault_server, n=1)
    with requestx.Session(retries=requestx.Retry(total=3, status_forcelist=[503])) as s:
        s.mount(fault_server.url + "/fail", HTTPAdapter())  # requests: no retries here
        assert s.get(url).status_code == 503
    assert len(fault_server.requests_with(key)) == 1


def test_session_defaults_keep_the_session_retries(fault_server, sleeps):
    key, url = fail_url(fault_server, n=1)
    with requestx.Session(retries=requestx.Retry(total=3, status_forcelist=[503])) as s:
        assert list(s.adapters) == ["https://", "http://"]  # made on this first read
        assert s.get(url).status_code == 200
    assert len(fault_server.requests_with(key)) == 2


def test_libcurl_resend_of_a_get_is_seen_on_the_response(fault_server):
    with requestx.Session() as s:
        first = s.get(fault_server.url + "/stale-second")
        again = s.get(fault_server.url + "/stale-second")
    assert first.status_code == again.status_code == 200
    assert first.resent is False
    assert again.resent is True
