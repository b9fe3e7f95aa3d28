"""Retries, mounted adapters, libcurl's stale-connection re-send, the total
deadline, the circuit breaker and error types, end to end against the
loopback fault server (tests/servers/fault.py).

No test sleeps: the retry loop waits through ``requestx.policy.call.sleep``
and ``requestx.policy.call.async_sleep``, which the ``sleeps`` fixture
replaces with recorders (the recorded list is the delays the loop asked for).
No assertion reads the wall clock. Each /fail-n-times request carries a
unique ``key`` so that a test counts only its own requests on the shared
server; tests that need the server's whole log use ``isolated_fault_server``.
"""

from __future__ import annotations

import asyncio
import email.utils
import io
import time
from urllib.parse import urlencode

import pytest
from _helpers import token
from _session_faces import face_fixture

import requestx
from requestx import exceptions as exc
from requestx.adapters import BaseAdapter, HTTPAdapter
from requestx.models import Response
from requestx.policy import call
from requestx.policy.breaker import CircuitBreaker

face = face_fixture

pytestmark = pytest.mark.requestx_only


# -- helpers ----------------------------------------------------------------------


class Fail:
    """A /fail-n-times URL of its own key, and the requests the server saw of it."""

    def __init__(self, server, **query):
        self.server = server
        self.key = token()
        self.url = server.url + "/fail-n-times?" + urlencode({"key": self.key, **query})

    @property
    def requests(self):
        return self.server.requests_with(self.key)

    @property
    def hits(self):
        return len(self.requests)


def forced(total=3, **kwargs):
    return requestx.Retry(total=total, status_forcelist=[503], **kwargs)


class CountingBreaker(CircuitBreaker):
    """A breaker that never opens and counts the attempts it is asked about."""

    def __init__(self):
        super().__init__(failure_threshold=1000)
        self.attempts = 0

    def before(self, url):
        self.attempts += 1
        return super().before(url)


class FixedClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def run(coro):
    return asyncio.run(coro)


# -- 1. the default: no retries ---------------------------------------------------


def test_default_refused_port_raises_connection_error_once(face, refused_url, sleeps):
    with face.session() as s:
        with pytest.raises(exc.ConnectionError) as info:
            s.get(refused_url + "/")
    assert info.value.error_type == "connection_error"
    assert not hasattr(info.value, "retries")
    assert sleeps == []


def test_default_refused_port_is_one_attempt(face, refused_url, sleeps):
    breaker = CountingBreaker()
    with face.session(breaker=breaker) as s:
        with pytest.raises(exc.ConnectionError):
            s.get(refused_url + "/")
    assert breaker.attempts == 1
    assert sleeps == []


def test_default_503_is_returned_as_is_after_one_hit(face, fault_server, sleeps):
    fail = Fail(fault_server, n=5)
    with face.session() as s:
        r = s.get(fail.url)
    assert r.status_code == 503
    assert r.text == "failure 1\n"
    assert fail.hits == 1
    assert sleeps == []


# -- 2. status retries and the backoff sequence --------------------------------------


def test_forcelist_retries_until_200(face, fault_server, sleeps):
    fail = Fail(fault_server, n=2)
    retry = forced(3, backoff_factor=0.5)
    with face.session(retries=retry) as s:
        r = s.get(fail.url)
    assert r.status_code == 200
    assert fail.hits == 3
    assert len(r.retries.history) == 2
    assert [h.status for h in r.retries.history] == [503, 503]
    assert r.retries.total == 1
    # urllib3: no wait after the first error, then backoff_factor * 2 ** (n - 1);
    # a delay of 0 is not slept at all (urllib3's sleep_for_retry neither)
    assert sleeps == [1.0]


def test_backoff_sequence_follows_get_backoff_time(face, fault_server, sleeps):
    fail = Fail(fault_server, n=4)
    retry = forced(5, backoff_factor=0.25)
    with face.session(retries=retry) as s:
        r = s.get(fail.url)
    assert r.status_code == 200
    assert fail.hits == 5
    # Retry.get_backoff_time's value for a history of 1..4 errors (urllib3's
    # backoff_factor * 2 ** (n - 1), 0 for the first); a 0 is not slept
    expected = []
    for n in range(1, 5):
        step = retry.new(history=tuple(_history_entry() for _ in range(n)))
        delay = step.get_backoff_time()
        if delay > 0:
            expected.append(delay)
    assert expected == [0.5, 1.0, 2.0]
    assert sleeps == expected
    assert [h.status for h in r.retries.history] == [503] * 4


def _history_entry():
    from requestx.policy.retry import RequestHistory

    return RequestHistory("GET", None, None, 503, None)


# -- 3. exhaustion ----------------------------------------------------------------------


def test_exhaustion_raises_retry_error_with_the_last_response(face, fault_server, sleeps):
    fail = Fail(fault_server, n=10)
    with face.session(retries=forced(2)) as s:
        with pytest.raises(exc.RetryError) as info:
            s.get(fail.url)
    assert info.value.response is not None
    assert info.value.response.status_code == 503
    assert fail.hits == 3


def test_exhaustion_without_raise_on_status_returns_the_last_503(face, fault_server, sleeps):
    fail = Fail(fault_server, n=10)
    with face.session(retries=forced(2, raise_on_status=False)) as s:
        r = s.get(fail.url)
    assert r.status_code == 503
    assert r.text == "failure 3\n"
    assert fail.hits == 3
    assert len(r.retries.history) == 2


# -- 4. Retry-After ---------------------------------------------------------------------


def test_retry_after_is_retried_without_forcelist_and_its_wait_is_slept(fault_server, sleeps):
    fail = Fail(fault_server, n=1, retry_after=2)
    with requestx.Session(retries=requestx.Retry(3)) as s:
        r = s.get(fail.url)
    assert r.status_code == 200
    assert fail.hits == 2
    assert sleeps == [2.0]


def test_503_without_retry_after_is_not_retried_without_forcelist(fault_server, sleeps):
    fail = Fail(fault_server, n=1)
    with requestx.Session(retries=requestx.Retry(3)) as s:
        r = s.get(fail.url)
    assert r.status_code == 503
    assert fail.hits == 1
    assert sleeps == []


def test_retry_zero_does_not_retry_a_retry_after(fault_server, sleeps):
    fail = Fail(fault_server, n=1, retry_after=2)
    with requestx.Session(retries=requestx.Retry(0)) as s:
        r = s.get(fail.url)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "2"
    assert fail.hits == 1
    assert sleeps == []


def test_retry_after_as_an_http_date(fault_server, sleeps):
    when = email.utils.formatdate(time.time() + 1000, usegmt=True)
    fail = Fail(fault_server, n=1, retry_after=when)
    with requestx.Session(retries=requestx.Retry(3)) as s:
        r = s.get(fail.url)
    assert r.status_code == 200
    assert fail.hits == 2
    assert len(sleeps) == 1
    assert 900 < sleeps[0] <= 1000


def test_garbage_retry_after_is_ignored(fault_server, sleeps):
    fail = Fail(fault_server, n=1, retry_after="soon, maybe")
    with requestx.Session(retries=requestx.Retry(3)) as s:
        r = s.get(fail.url)
    assert r.status_code == 503
    assert fail.hits == 1
    assert sleeps == []


def test_garbage_retry_after_with_forcelist_uses_the_backoff(fault_server, sleeps):
    fail = Fail(fault_server, n=2, retry_after="garbage")
    with requestx.Session(retries=forced(3, backoff_factor=0.5)) as s:
        r = s.get(fail.url)
    assert r.status_code == 200
    assert fail.hits == 3
    assert sleeps == [1.0]


# -- 5. POST safety ----------------------------------------------------------------------


def test_post_whose_connection_closes_is_not_retried(face, fault_server, sleeps):
    fail = Fail(fault_server, n=1, mode="close")
    with face.session(retries=requestx.Retry(total=3)) as s:
        with pytest.raises(exc.ConnectionError):
            s.post(fail.url, data=b"payload-once")
    assert fail.hits == 1
    assert [r.body for r in fail.requests] == [b"payload-once"]
    assert sleeps == []


def test_get_whose_connection_closes_is_retried(face, fault_server, sleeps):
    fail = Fail(fault_server, n=1, mode="close")
    with face.session(retries=requestx.Retry(total=3)) as s:
        r = s.get(fail.url)
    assert r.status_code == 200
    assert fail.hits == 2
    assert len(r.retries.history) == 1


def test_post_with_idempotency_key_is_retried(face, fault_server, sleeps):
    fail = Fail(fault_server, n=1, mode="close")
    with face.session(retries=requestx.Retry(total=3)) as s:
        r = s.post(fail.url, data=b"payload", headers={"Idempotency-Key": "k"})
    assert r.status_code == 200
    assert r.content == b"payload"
    assert [r.body for r in fail.requests] == [b"payload", b"payload"]


def test_post_to_a_refused_port_is_retried_as_a_connect_error(refused_url, sleeps):
    with requestx.Session(retries=requestx.Retry(total=2)) as s:
        with pytest.raises(exc.ConnectionError) as info:
            s.post(refused_url + "/", data=b"x")
    retries = info.value.retries
    # three attempts: two counted failures in the history, then the final one
    assert len(retries.history) == 2
    assert all(isinstance(h.error, exc.ConnectionError) for h in retries.history)
    assert retries.total == 0


def test_post_to_a_refused_port_makes_three_attempts(refused_url, sleeps):
    breaker = CountingBreaker()
    with requestx.Session(retries=requestx.Retry(total=2), breaker=breaker) as s:
        with pytest.raises(exc.ConnectionError):
            s.post(refused_url + "/", data=b"x")
    assert breaker.attempts == 3


# -- 6. body replay ----------------------------------------------------------------------


def test_file_body_is_replayed_identically(fault_server, sleeps):
    fail = Fail(fault_server, n=1, status=503)
    payload = b"file body " * 100
    with requestx.Session(retries=forced(3)) as s:
        r = s.put(fail.url, data=io.BytesIO(payload))
    assert r.status_code == 200
    assert r.content == payload
    assert [r.body for r in fail.requests] == [payload, payload]


def test_file_body_is_replayed_from_where_it_started(fault_server, sleeps):
    fail = Fail(fault_server, n=1, status=503)
    body = io.BytesIO(b"SKIP" + b"rest of the body")
    body.read(4)
    with requestx.Session(retries=forced(3)) as s:
        r = s.put(fail.url, data=body)
    assert r.status_code == 200
    assert [r.body for r in fail.requests] == [b"rest of the body"] * 2


def test_generator_body_cannot_be_replayed(fault_server, sleeps):
    fail = Fail(fault_server, n=1, status=503)

    def chunks():
        yield b"one "
        yield b"two"

    with requestx.Session(retries=forced(3)) as s:
        with pytest.raises(exc.UnrewindableBodyError):
            s.put(fail.url, data=chunks())
    assert fail.hits == 1
    assert fail.requests[0].body == b"one two"


# -- 7. per-request override, mounts, adapters ---------------------------------------------


def test_per_request_retries_false_beats_the_sessions(fault_server, sleeps):
    fail = Fail(fault_server, n=1)
    with requestx.Session(retries=forced(3)) as s:
        r = s.get(fail.url, retries=False)
        assert r.status_code == 503
        assert fail.hits == 1
        r = s.get(fail.url)  # the session's policy still holds for the next call
        assert r.status_code == 200


def test_per_request_retries_beat_the_sessions(fault_server, sleeps):
    fail = Fail(fault_server, n=1)
    with requestx.Session() as s:
        r = s.get(fail.url, retries=forced(1))
    assert r.status_code == 200
    assert fail.hits == 2


def test_mounted_adapter_retries_only_under_its_prefix(fault_server, sleeps):
    fail = Fail(fault_server, n=1)
    other = Fail(fault_server, n=1)
    with requestx.Session() as s:
        s.mount(
            fault_server.url + "/fail-n-times?key=" + fail.key,
            HTTPAdapter(max_retries=forced(2)),
        )
        r = s.get(fail.url)
        assert r.status_code == 200
        assert fail.hits == 2
        r = s.get(other.url)
        assert r.status_code == 503
        assert other.hits == 1
        r = s.get(fault_server.url + "/status/503")
        assert r.status_code == 503


def test_http_adapter_int_max_retries_is_retry_from_int():
    adapter = HTTPAdapter(max_retries=3)
    expected = requestx.Retry.from_int(3)
    assert isinstance(adapter.max_retries, requestx.Retry)
    assert repr(adapter.max_retries) == repr(expected)
    for name in ("total", "connect", "read", "redirect", "status", "status_forcelist"):
        assert getattr(adapter.max_retries, name) == getattr(expected, name)
    default = HTTPAdapter().max_retries
    assert (default.total, default.read) == (0, False)


def test_http_adapter_int_max_retries_retries_connect_errors(refused_url, sleeps):
    breaker = CountingBreaker()
    with requestx.Session(breaker=breaker) as s:
        s.mount("http://", HTTPAdapter(max_retries=3))
        with pytest.raises(exc.ConnectionError):
            s.get(refused_url + "/")
    assert breaker.attempts == 4


def test_longest_prefix_wins(fault_server, sleeps):
    fail = Fail(fault_server, n=1)
    short = HTTPAdapter(max_retries=requestx.Retry(0))
    long = HTTPAdapter(max_retries=forced(2))
    with requestx.Session() as s:
        s.mount(fault_server.url + "/fail-n-times", long)
        s.mount(fault_server.url + "/", short)  # mounted later, but shorter
        assert s.get_adapter(fail.url) is long
        assert s.get_adapter(fault_server.url + "/ok") is short
        assert s.get_adapter("https://example.com/") is s.adapters["https://"]
        with pytest.raises(exc.InvalidSchema):
            s.get_adapter("ftp://example.com/")
        r = s.get(fail.url)
        assert r.status_code == 200
        assert fail.hits == 2


def test_mount_prefix_match_is_case_insensitive_on_the_scheme_and_host(fault_server):
    adapter = HTTPAdapter(max_retries=2)
    with requestx.Session() as s:
        s.mount(f"HTTP://127.0.0.1:{fault_server.port}/", adapter)
        assert s.get_adapter(fault_server.url + "/ok") is adapter


class CannedAdapter(BaseAdapter):
    def __init__(self):
        self.calls = []

    def send(self, request, **kwargs):
        self.calls.append((request, kwargs))
        r = Response()
        r.status_code = 299
        r._content = b"canned"
        r.url = request.url
        r.request = request
        r.headers["X-Canned"] = "yes"
        return r


def test_custom_base_adapter_answers_for_its_prefix(isolated_fault_server):
    server = isolated_fault_server
    adapter = CannedAdapter()
    with requestx.Session() as s:
        s.mount(server.url + "/canned/", adapter)
        r = s.post(server.url + "/canned/thing?x=1", data=b"body", timeout=7)
        assert r.status_code == 299
        assert r.content == b"canned"
        assert r.headers["X-Canned"] == "yes"
        assert len(adapter.calls) == 1
        request, kwargs = adapter.calls[0]
        assert request.method == "POST"
        assert request.url == server.url + "/canned/thing?x=1"
        assert request.body == b"body"
        assert set(kwargs) >= {"stream", "timeout", "verify", "cert", "proxies"}
        assert kwargs["timeout"] is not None
        assert server.connections_accepted == 0
        # other URLs of the server are sent as usual
        assert s.get(server.url + "/ok").status_code == 200
        assert len(adapter.calls) == 1
    assert server.hits("/canned/thing") == 0


def test_http_adapter_subclass_sets_a_default_timeout(fault_server):
    seen = []

    class DefaultTimeout(HTTPAdapter):
        def send(self, request, **kwargs):
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = 0.3
            seen.append(kwargs["timeout"])
            return super().send(request, **kwargs)

    key = token()
    with requestx.Session() as s:
        s.mount(fault_server.url + "/", DefaultTimeout())
        r = s.get(fault_server.url + "/ok?t=" + key)
        assert r.status_code == 200
        assert r.text == "ok\n"
        assert len(fault_server.requests_with(key)) == 1
        with pytest.raises(exc.ReadTimeout):
            s.get(fault_server.url + "/stall-headers")
    assert seen == [0.3, 0.3]


def test_http_adapter_subclass_keeps_its_max_retries(fault_server, sleeps):
    fail = Fail(fault_server, n=1)

    class Wrapping(HTTPAdapter):
        def send(self, request, **kwargs):
            return super().send(request, **kwargs)

    with requestx.Session() as s:
        s.mount(fault_server.url + "/", Wrapping(max_retries=forced(2)))
        r = s.get(fail.url)
    assert r.status_code == 200
    assert fail.hits == 2


# -- 8. libcurl's stale-connection re-send ------------------------------------------------


def test_stale_get_is_resent_by_libcurl(isolated_fault_server):
    server = isolated_fault_server
    with requestx.Session() as s:
        assert s.get(server.url + "/stale-second").status_code == 200
        r = s.get(server.url + "/stale-second")
        assert r.status_code == 200
    assert server.hits("/stale-second") == 3
    assert server.connections_accepted == 2


def test_stale_post_is_not_resent(face, isolated_fault_server):
    server = isolated_fault_server
    with face.session() as s:
        assert s.get(server.url + "/stale-second").status_code == 200
        with pytest.raises(exc.ConnectionError) as info:
            s.post(server.url + "/stale-second", data=b"post-body")
    assert info.value.error_type == "response_ended"
    posts = [r for r in server.requests_to("/stale-second") if r.method == "POST"]
    assert [r.body for r in posts] == [b"post-body"]


def test_stale_post_is_resent_with_always(face, isolated_fault_server):
    server = isolated_fault_server
    with face.session(resend_stale_connections="always") as s:
        assert s.get(server.url + "/stale-second").status_code == 200
        r = s.post(server.url + "/stale-second", data=b"post-body")
    assert r.status_code == 200
    assert r.content == b"post-body"
    posts = [r for r in server.requests_to("/stale-second") if r.method == "POST"]
    assert [r.body for r in posts] == [b"post-body", b"post-body"]
    assert posts[0].conn_id != posts[1].conn_id


def test_resend_stale_connections_is_checked():
    with pytest.raises(ValueError):
        requestx.Session(resend_stale_connections="never")


# -- 9. the total deadline --------------------------------------------------------------


def test_total_deadline_against_a_drip(face, fault_server):
    with face.session() as s:
        with pytest.raises(exc.DeadlineExceeded) as info:
            s.get(
                fault_server.url + "/drip?n=50&interval=0.1",
                timeout=requestx.Timeout(total=0.5),
            )
    assert isinstance(info.value, exc.Timeout)
    assert isinstance(info.value, requestx.Timeout)
    assert info.value.error_type == "deadline_exceeded"


def test_deadline_does_not_sleep_a_retry_after_beyond_it(face, fault_server, sleeps):
    fail = Fail(fault_server, n=1, retry_after=30)
    with face.session(retries=requestx.Retry(3)) as s:
        with pytest.raises(exc.DeadlineExceeded):
            s.get(fail.url, timeout=requestx.Timeout(total=5))
    assert 30 not in sleeps
    assert 30.0 not in sleeps
    assert sleeps == []
    assert fail.hits == 1


def test_deadline_allows_a_retry_after_within_it(fault_server, sleeps):
    fail = Fail(fault_server, n=1, retry_after=1)
    with requestx.Session(retries=requestx.Retry(3)) as s:
        r = s.get(fail.url, timeout=requestx.Timeout(total=30))
    assert r.status_code == 200
    assert sleeps == [1.0]


def test_timeout_setting_is_not_an_exception():
    setting = requestx.Timeout(total=5)
    assert not isinstance(setting, BaseException)
    assert setting.total == 5.0
    assert requestx.Timeout(connect=1, read=2, total=3) == requestx.Timeout(
        total=3, connect=1, read=2
    )
    assert isinstance(requestx.Timeout("message"), BaseException)


def test_except_timeout_still_catches_read_timeout(fault_server):
    with requestx.Session() as s:
        try:
            s.get(fault_server.url + "/stall-headers", timeout=0.3)
        except requestx.Timeout as e:
            caught = e
        else:  # pragma: no cover - the call must time out
            pytest.fail("no timeout")
    assert isinstance(caught, exc.ReadTimeout)


# -- 10. the breaker on sessions --------------------------------------------------------


def test_breaker_opens_after_two_503s_and_fails_fast(face, isolated_fault_server):
    server = isolated_fault_server
    breaker = CircuitBreaker(failure_threshold=2, clock=FixedClock())
    with face.session(breaker=breaker) as s:
        assert s.get(server.url + "/status/503").status_code == 503
        assert s.get(server.url + "/status/503").status_code == 503
        assert breaker.state(server.url) == "open"
        hits = len(server.requests)
        with pytest.raises(exc.CircuitOpenError) as info:
            s.get(server.url + "/ok")
    e = info.value
    assert isinstance(e, exc.ConnectionError)
    assert e.error_type == "circuit_open"
    assert e.key == f"http://127.0.0.1:{server.port}"
    assert e.state == "open"
    assert len(server.requests) == hits == 2


def test_breaker_shared_by_session_and_async_session(isolated_fault_server):
    server = isolated_fault_server
    breaker = CircuitBreaker(failure_threshold=2, clock=FixedClock())
    with requestx.Session(breaker=breaker) as s:
        assert s.get(server.url + "/status/503").status_code == 503
    assert breaker.state(server.url) == "closed"

    async def async_part():
        async with requestx.AsyncSession(breaker=breaker) as a:
            assert (await a.get(server.url + "/status/503")).status_code == 503
            assert breaker.state(server.url) == "open"
            with pytest.raises(exc.CircuitOpenError):
                await a.get(server.url + "/ok")

    run(async_part())
    with requestx.Session(breaker=breaker) as s:
        with pytest.raises(exc.CircuitOpenError):
            s.get(server.url + "/ok")
    assert len(server.requests) == 2


def test_breaker_does_not_count_4xx(isolated_fault_server):
    server = isolated_fault_server
    breaker = CircuitBreaker(failure_threshold=2, clock=FixedClock())
    with requestx.Session(breaker=breaker) as s:
        for code in (404, 429, 400, 404):
            assert s.get(server.url + f"/status/{code}").status_code == code
        assert breaker.state(server.url) == "closed"
        assert s.get(server.url + "/ok").status_code == 200
    assert len(server.requests) == 5


def test_breaker_success_resets_the_count(isolated_fault_server):
    server = isolated_fault_server
    breaker = CircuitBreaker(failure_threshold=2, clock=FixedClock())
    with requestx.Session(breaker=breaker) as s:
        s.get(server.url + "/status/503")
        s.get(server.url + "/ok")
        s.get(server.url + "/status/503")
        assert breaker.state(server.url) == "closed"
        assert s.get(server.url + "/ok").status_code == 200


def test_breaker_counts_transport_failures(refused_url):
    breaker = CircuitBreaker(failure_threshold=2, clock=FixedClock())
    with requestx.Session(breaker=breaker) as s:
        for _ in range(2):
            with pytest.raises(exc.ConnectionError) as info:
                s.get(refused_url + "/")
            assert not isinstance(info.value, exc.CircuitOpenError)
        with pytest.raises(exc.CircuitOpenError):
            s.get(refused_url + "/")


def test_per_request_breaker_false_bypasses_the_sessions(isolated_fault_server):
    server = isolated_fault_server
    breaker = CircuitBreaker(failure_threshold=1, clock=FixedClock())
    with requestx.Session(breaker=breaker) as s:
        s.get(server.url + "/status/503")
        with pytest.raises(exc.CircuitOpenError):
            s.get(server.url + "/ok")
        assert s.get(server.url + "/ok", breaker=False).status_code == 200


def test_breaker_opening_mid_retry_stops_the_loop(face, isolated_fault_server, sleeps):
    server = isolated_fault_server
    breaker = CircuitBreaker(failure_threshold=2, clock=FixedClock())
    with face.session(retries=forced(5), breaker=breaker) as s:
        with pytest.raises(exc.CircuitOpenError):
            s.get(server.url + "/status/503")
    assert server.hits("/status/503") == 2


# -- 11. async cancellation during a backoff sleep ----------------------------------------


def test_async_cancellation_during_backoff(fault_server, monkeypatch):
    fail = Fail(fault_server, n=5, retry_after=1)
    asked: list = []

    async def main():
        sleeping = asyncio.Event()

        async def forever(seconds):
            asked.append(seconds)
            if sleeping.is_set():
                return  # a later sleep (the loop went on after the cancel) ends at once
            sleeping.set()
            await asyncio.get_running_loop().create_future()

        monkeypatch.setattr(call, "async_sleep", forever)
        async with requestx.AsyncSession(retries=requestx.Retry(3)) as s:
            task = asyncio.ensure_future(s.get(fail.url))
            await asyncio.wait_for(sleeping.wait(), 10)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=10)
            assert task in done
            assert task.cancelled()
            with pytest.raises(asyncio.CancelledError):
                task.result()
            for _ in range(5):
                await asyncio.sleep(0.02)  # give a stray attempt the chance to show

    run(main())
    assert asked == [1.0]
    assert fail.hits == 1


def test_async_cancellation_during_backoff_releases_the_breaker(fault_server, monkeypatch):
    fail = Fail(fault_server, n=5, retry_after=1)
    breaker = CircuitBreaker(failure_threshold=1, clock=FixedClock(), failure_statuses=[500])

    async def main():
        sleeping = asyncio.Event()

        async def forever(seconds):
            if sleeping.is_set():
                return
            sleeping.set()
            await asyncio.get_running_loop().create_future()

        monkeypatch.setattr(call, "async_sleep", forever)
        async with requestx.AsyncSession(retries=requestx.Retry(3), breaker=breaker) as s:
            task = asyncio.ensure_future(s.get(fail.url))
            await asyncio.wait_for(sleeping.wait(), 10)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=10)
            assert task in done
            assert task.cancelled()

    run(main())
    assert breaker.state(fault_server.url) == "closed"
    assert fail.hits == 1


# -- 12. error types ----------------------------------------------------------------------


def _error_of(url, **kwargs):
    with requestx.Session() as s:
        with pytest.raises(exc.RequestException) as info:
            s.get(url, **kwargs)
    return info.value


def test_error_types_of_each_fault(fault_server, refused_url):
    cases = {
        "refused": (_error_of(refused_url + "/"), "connection_error", exc.ConnectionError),
        "close": (_error_of(fault_server.url + "/close"), "response_ended", exc.ConnectionError),
        "stall": (
            _error_of(fault_server.url + "/stall-headers", timeout=0.3),
            "read_timeout",
            exc.ReadTimeout,
        ),
        "short": (_error_of(fault_server.url + "/short"), "response_ended", exc.RequestException),
        "invalid": (_error_of("http://"), "invalid_request", exc.InvalidURL),
    }
    for name, (error, expected, cls) in cases.items():
        assert isinstance(error, cls), (name, error)
        assert error.error_type == expected, (name, error.error_type, error)
        assert error.error_type in exc.ERROR_TYPES, name


def test_error_types_of_the_policy_exceptions(fault_server, isolated_fault_server, sleeps):
    assert exc.CircuitOpenError("x").error_type in exc.ERROR_TYPES
    assert exc.DeadlineExceeded("x").error_type in exc.ERROR_TYPES
    assert exc.RetryError("x").error_type in exc.ERROR_TYPES
    assert exc.UnrewindableBodyError("x").error_type in exc.ERROR_TYPES
    fail = Fail(fault_server, n=10)
    with requestx.Session(retries=forced(1)) as s:
        with pytest.raises(exc.RetryError) as info:
            s.get(fail.url)
    assert info.value.error_type in exc.ERROR_TYPES


# -- 13. module functions ---------------------------------------------------------------


def test_module_get_retries(fault_server, sleeps):
    fail = Fail(fault_server, n=1)
    r = requestx.get(fail.url, retries=forced(2))
    assert r.status_code == 200
    assert fail.hits == 2
    assert len(r.retries.history) == 1


def test_module_get_without_retries_returns_the_503(fault_server, sleeps):
    fail = Fail(fault_server, n=1)
    r = requestx.get(fail.url)
    assert r.status_code == 503
    assert fail.hits == 1


def test_module_get_retries_inside_a_running_loop(fault_server, sleeps):
    fail = Fail(fault_server, n=2)

    async def main():
        return await requestx.get(fail.url, retries=forced(3, backoff_factor=0.5))

    r = run(main())
    assert r.status_code == 200
    assert fail.hits == 3
    assert sleeps == [1.0]


def test_module_post_with_retries_inside_a_running_loop_is_not_retried(fault_server, sleeps):
    fail = Fail(fault_server, n=1, mode="close")

    async def main():
        return await requestx.post(fail.url, data=b"once", retries=requestx.Retry(3))

    with pytest.raises(exc.ConnectionError):
        run(main())
    assert [r.body for r in fail.requests] == [b"once"]


def test_module_get_breaker(isolated_fault_server):
    server = isolated_fault_server
    breaker = CircuitBreaker(failure_threshold=1, clock=FixedClock())
    assert requestx.get(server.url + "/status/503", breaker=breaker).status_code == 503
    with pytest.raises(exc.CircuitOpenError):
        requestx.get(server.url + "/ok", breaker=breaker)
    assert len(server.requests) == 1
