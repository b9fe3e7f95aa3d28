"""Observers, timings, the requestx logger and stats=True (the engine's
aggregates), on every face, against the loopback fault server.

No test reads the wall clock: the retry loop's waits are recorded instead of
slept (the ``sleeps`` fixture), and timings are compared with each other.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap

import httpx
import pytest
from _helpers import token
from servers.fault import refused_port

import requestx
from requestx import _engine
from requestx._core import stats as _stats

pytestmark = pytest.mark.requestx_only


class Recorder:
    """An observer that writes down every event."""

    def __init__(self):
        self.events = []

    def on_request_start(self, info):
        self.events.append(("request_start", info.method))

    def on_request_end(self, info, response, error):
        status = None if response is None else response.status_code
        self.events.append(("request_end", info.attempts, status, type(error).__name__))

    def on_attempt_start(self, attempt):
        self.events.append(("attempt_start", attempt.attempt))

    def on_attempt_end(self, attempt, result):
        self.events.append(("attempt_end", result.status, result.error_type))
        self.last_result = result

    def on_retry(self, attempt, delay, reason):
        self.events.append(("retry", reason))

    def on_breaker(self, key, old, new):
        self.events.append(("breaker", old, new))

    def names(self):
        return [event[0] for event in self.events]


def failing(server, n=3, status=503):
    return f"{server.url}/fail-n-times?n={n}&status={status}&key={token()}"


def retry3():
    return requestx.Retry(total=3, status_forcelist=[503], backoff_factor=0)


ONE_CALL = (
    ["request_start"]
    + ["attempt_start", "attempt_end", "retry"] * 3
    + ["attempt_start", "attempt_end", "request_end"]
)


# -- observers -------------------------------------------------------------------


def test_observers_see_ten_calls_with_three_retries_each_in_order(fault_server, sleeps):
    recorder = Recorder()
    s = requestx.Session(observers=[recorder], retries=retry3())
    for _ in range(10):
        assert s.get(failing(fault_server)).status_code == 200
    assert recorder.names() == ONE_CALL * 10
    ends = [e for e in recorder.events if e[0] == "request_end"]
    assert ends == [("request_end", 4, 200, "NoneType")] * 10
    attempts = [e[1] for e in recorder.events if e[0] == "attempt_start"]
    assert attempts == [0, 1, 2, 3] * 10
    assert [e for e in recorder.events if e[0] == "retry"] == [("retry", "status_503")] * 30


def test_async_observers_see_ten_calls_with_three_retries_each(fault_server, sleeps):
    recorder = Recorder()

    async def main():
        s = requestx.AsyncSession(observers=[recorder], retries=retry3())
        responses = await asyncio.gather(*(s.get(failing(fault_server)) for _ in range(10)))
        await s.close()
        return responses

    assert [r.status_code for r in asyncio.run(main())] == [200] * 10
    names = recorder.names()
    for name, count in (
        ("request_start", 10),
        ("request_end", 10),
        ("attempt_start", 40),
        ("attempt_end", 40),
        ("retry", 30),
    ):
        assert names.count(name) == count, name
    assert names[0] == "request_start" and names[-1] == "request_end"


def test_process_wide_observers_see_every_session(fault_server, monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(requestx, "observers", requestx.observers)
    requestx.observers.append(recorder)
    try:
        requestx.get(fault_server.url + "/ok")
        with requestx.Session() as s:
            s.get(fault_server.url + "/ok")
    finally:
        requestx.observers.remove(recorder)
    assert recorder.names().count("request_end") == 2


def test_a_session_observer_comes_before_the_process_wide_one(fault_server):
    order = []

    class Named:
        def __init__(self, name):
            self.name = name

        def on_request_start(self, info):
            order.append(self.name)

    requestx.observers.append(Named("process"))
    try:
        requestx.Session(observers=[Named("session")]).get(fault_server.url + "/ok")
    finally:
        requestx.observers.pop()
    assert order == ["session", "process"]


def test_an_observer_adds_headers_the_server_sees(fault_server):
    class Tagger:
        def on_attempt_start(self, attempt):
            attempt.headers["X-Attempt"] = str(attempt.attempt)

    r = requestx.Session(observers=[Tagger()]).get(fault_server.url + "/echo-head")
    assert "X-Attempt: 0" in r.text


def test_an_observer_that_raises_is_logged_and_the_call_goes_on(fault_server, caplog):
    class Broken:
        def on_attempt_end(self, attempt, result):
            raise RuntimeError("observer bug")

    with caplog.at_level(logging.ERROR, logger="requestx"):
        r = requestx.Session(observers=[Broken()]).get(fault_server.url + "/ok")
    assert r.status_code == 200
    assert "observer" in caplog.text and "observer bug" in caplog.text


def test_a_redirect_is_an_attempt_of_the_same_call(fault_server):
    recorder = Recorder()
    s = requestx.Session(observers=[recorder])
    r = s.get(fault_server.url + "/redirect?location=/ok")
    assert r.status_code == 200
    assert recorder.events == [
        ("request_start", "GET"),
        ("attempt_start", 0),
        ("attempt_end", 302, None),
        ("attempt_start", 1),
        ("attempt_end", 200, None),
        ("request_end", 2, 200, "NoneType"),
    ]


def test_a_refused_connection_ends_the_attempt_with_its_error_type(refused_url):
    recorder = Recorder()
    with pytest.raises(requestx.ConnectionError):
        requestx.Session(observers=[recorder]).get(refused_url)
    assert recorder.events[-2:] == [
        ("attempt_end", None, "connection_error"),
        ("request_end", 1, None, "ConnectionError"),
    ]
    assert recorder.last_result.error is not None and recorder.last_result.timings == {}


def test_attempt_results_carry_sizes_version_and_reuse(fault_server):
    recorder = Recorder()
    s = requestx.Session(observers=[recorder])
    s.post(fault_server.url + "/echo-raw", data=b"x" * 100)
    first = recorder.last_result
    s.get(fault_server.url + "/ok")
    second = recorder.last_result
    assert first.bytes_out == 100 and first.bytes_in > 100
    assert first.http_version == "HTTP/1.1" and not first.reused
    assert second.reused and second.bytes_out == 0


def test_attempt_urls_carry_no_credentials(fault_server):
    seen = []

    class Urls:
        def on_attempt_start(self, attempt):
            seen.append(attempt.url)

    host = fault_server.url.split("://")[1]
    s = requestx.Session(observers=[Urls()])
    s.get(f"http://user:secret@{host}/ok?sig=abc&page=2")
    assert seen == [f"http://{host}/ok?sig=REDACTED&page=2"]


def test_async_attempts_end_in_the_loop_turn_of_their_completion(fault_server):
    """Each attempt's end is told from its future's done-callback, before the
    awaiting task resumes (the engine's batch, delivered in one turn)."""
    order = []

    class Mark:
        def on_attempt_end(self, attempt, result):
            order.append("attempt_end")

    async def main():
        s = requestx.AsyncSession(observers=[Mark()])
        await s.get(fault_server.url + "/ok")
        order.append("resumed")
        await s.close()

    asyncio.run(main())
    assert order == ["attempt_end", "resumed"]


def test_transports_tell_observers(fault_server, sleeps):
    recorder = Recorder()
    transport = requestx.HTTPTransport(observers=[recorder], retries=retry3())
    with httpx.Client(transport=transport) as client:
        assert client.get(failing(fault_server)).status_code == 200
    assert recorder.names() == ONE_CALL

    recorder = Recorder()

    async def main():
        transport = requestx.AsyncHTTPTransport(observers=[recorder], retries=retry3())
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.get(failing(fault_server))

    assert asyncio.run(main()).status_code == 200
    assert recorder.names() == ONE_CALL


def test_breaker_transitions_reach_observers_and_stats(fault_server):
    recorder = Recorder()
    breaker = requestx.CircuitBreaker(failure_threshold=2)
    s = requestx.Session(observers=[recorder], breaker=breaker, stats=True)
    url = fault_server.url + "/status/503"
    for _ in range(2):
        s.get(url)
    with pytest.raises(requestx.exceptions.CircuitOpenError):
        s.get(url)
    assert ("breaker", "closed", "open") in recorder.events
    snap = s.stats()
    key = fault_server.url.rstrip("/")
    assert snap["circuit_states"] == {key: "open"}
    assert snap["breaker_transitions"] == [{"key": key, "state": "open", "count": 1}]


# -- timings ---------------------------------------------------------------------


def test_timings_are_ordered_and_the_second_request_reuses(fault_server):
    s = requestx.Session()
    first = s.get(fault_server.url + "/ok").timings
    second = s.get(fault_server.url + "/ok").timings
    order = ("namelookup", "connect", "tls", "pretransfer", "first_byte", "total")
    values = [first[name] for name in order]
    assert values == sorted(values) and values[-1] > 0
    assert first["reused"] is False and second["reused"] is True
    assert first["attempts"] == 1 and first["redirect"] == 0.0 and first["queue"] >= 0.0


def test_timings_count_attempts_and_redirect_time(fault_server, sleeps):
    s = requestx.Session(retries=retry3())
    assert s.get(failing(fault_server)).timings["attempts"] == 4
    r = s.get(fault_server.url + "/redirect?location=/ok")
    assert r.timings["redirect"] == r.history[0].timings["total"] > 0


def test_async_timings_have_the_queue_wait(fault_server):
    async def main():
        s = requestx.AsyncSession(max_connections=1)
        responses = await asyncio.gather(*(s.get(fault_server.url + "/ok") for _ in range(4)))
        await s.close()
        return [r.timings for r in responses]

    timings = asyncio.run(main())
    assert all(t["queue"] >= 0 for t in timings)
    assert any(t["queue"] > 0 for t in timings[1:])  # they waited for the one connection
    assert sum(t["reused"] for t in timings) >= 3


def test_transport_responses_carry_timings(fault_server):
    with httpx.Client(transport=requestx.HTTPTransport()) as client:
        client.get(fault_server.url + "/ok")
        timings = client.get(fault_server.url + "/ok").extensions["timings"]
    assert timings["reused"] is True and timings["total"] > 0 and timings["attempts"] == 1
    assert set(timings) >= {"queue", "redirect", "first_byte"}


# -- the logger ------------------------------------------------------------------


def test_the_logger_says_one_line_per_attempt_without_secrets(fault_server, caplog, sleeps):
    host = fault_server.url.split("://")[1]
    s = requestx.Session(retries=retry3())
    url = failing(fault_server).replace("http://", "http://user:hunter2@") + "&token=abc"
    with caplog.at_level(logging.DEBUG, logger="requestx"):
        s.get(url)
    lines = [r for r in caplog.records if r.name == "requestx"]
    debug = [r.getMessage() for r in lines if r.levelno == logging.DEBUG]
    info = [r.getMessage() for r in lines if r.levelno == logging.INFO]
    assert len(debug) == 4 and len(info) == 3
    assert debug[0].startswith(f"GET http://{host}/fail-n-times -> 503 (")
    assert debug[0].endswith("new connection)") and debug[-1].endswith("reused)")
    assert " bytes, " in debug[-1] and " ms, " in debug[-1]
    assert info[0].startswith(f"retrying GET http://{host}/fail-n-times in ")
    assert "status_503" in info[0]
    for record in lines:
        text = record.getMessage()
        assert "hunter2" not in text and "user" not in text and "token" not in text


def test_the_logger_is_silent_unless_configured(fault_server, capsys):
    requestx.get(fault_server.url + "/ok")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_breaker_opening_is_a_warning(fault_server, caplog):
    s = requestx.Session(breaker=requestx.CircuitBreaker(failure_threshold=1))
    with caplog.at_level(logging.INFO, logger="requestx"):
        s.get(fault_server.url + "/status/500")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"circuit {fault_server.url.rstrip('/')}: closed -> open"
    ]


# -- stats=True ------------------------------------------------------------------


def _requests(snapshot, **labels):
    return [
        r for r in snapshot["requests"] if all(r[name] == value for name, value in labels.items())
    ]


def test_stats_count_requests_per_status_with_the_otel_buckets(fault_server):
    s = requestx.Session(stats=True)
    for _ in range(3):
        s.get(fault_server.url + "/ok")
    s.get(fault_server.url + "/status/404")
    snap = s.stats()
    assert snap["boundaries"] == [
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    ]  # fmt: skip
    ok = _requests(snap, status_code=200)
    assert len(ok) == 1 and ok[0]["count"] == 3 and sum(ok[0]["buckets"]) == 3
    assert len(ok[0]["buckets"]) == 15 and ok[0]["sum"] > 0
    assert ok[0]["method"] == "GET" and ok[0]["scheme"] == "http"
    assert ok[0]["server_address"] == "127.0.0.1" and ok[0]["error_type"] is None
    assert _requests(snap, status_code=404)[0]["count"] == 1
    phases = {p["phase"]: p["count"] for p in snap["phases"]}
    # one new connection: dns and connect once; queue and first byte every time
    assert phases == {"queue": 4, "dns": 1, "connect": 1, "first_byte": 4}
    (conn,) = snap["connections"]
    assert conn["open"] == 1 and conn["active"] == 0 and conn["idle"] == 1


def test_stats_count_failures_by_error_type(refused_url):
    s = requestx.Session(stats=True)
    for _ in range(2):
        with pytest.raises(requestx.ConnectionError):
            s.get(refused_url + "/x")
    (entry,) = s.stats()["requests"]
    assert entry["status_code"] == 0 and entry["error_type"] == "connection_error"
    assert entry["count"] == 2


def test_stats_count_retries(fault_server, sleeps):
    s = requestx.Session(stats=True, retries=retry3())
    s.get(failing(fault_server))
    snap = s.stats()
    assert [(r["reason"], r["count"]) for r in snap["retries"]] == [("status_503", 3)]
    assert _requests(snap, status_code=503)[0]["count"] == 3


def test_stats_fold_origins_beyond_the_cap(fault_server):
    port = fault_server.url.rsplit(":", 1)[1].rstrip("/")
    dead = refused_port()
    s = requestx.Session(stats=True, stats_max_origins=2)
    s.get(f"http://127.0.0.1:{port}/ok")
    s.get(f"http://localhost:{port}/ok")
    for host in ("127.0.0.1", "localhost"):
        with pytest.raises(requestx.ConnectionError):
            s.get(f"http://{host}:{dead}/")
    addresses = {r["server_address"] for r in s.stats()["requests"]}
    assert addresses == {"127.0.0.1", "localhost", "_other"}
    (other,) = _requests(s.stats(), server_address="_other")
    assert other["count"] == 2


def test_stats_count_a_stream_when_it_ends(fault_server):
    s = requestx.Session(stats=True)
    with s.get(fault_server.url + "/big?size=70000", stream=True) as r:
        assert s.stats()["connections"][0]["active"] == 1
        r.content
    (entry,) = s.stats()["requests"]
    assert entry["count"] == 1 and s.stats()["connections"][0]["active"] == 0


def test_async_and_transport_stats(fault_server):
    async def main():
        s = requestx.AsyncSession(stats=True)
        await asyncio.gather(*(s.get(fault_server.url + "/ok") for _ in range(5)))
        t = requestx.AsyncHTTPTransport(stats=True)
        async with httpx.AsyncClient(transport=t) as client:
            await client.get(fault_server.url + "/status/500")
        snapshots = s.stats(), t.stats()
        await s.close()
        return snapshots

    session_snap, transport_snap = asyncio.run(main())
    assert _requests(session_snap, status_code=200)[0]["count"] == 5
    assert _requests(transport_snap, status_code=500)[0]["count"] == 1
    sync = requestx.HTTPTransport(stats=True)
    with httpx.Client(transport=sync) as client:
        client.get(fault_server.url + "/ok")
    assert _requests(sync.stats(), status_code=200)[0]["count"] == 1


def test_sessions_with_stats_are_remembered_weakly():
    import gc
    import weakref

    s = requestx.Session(stats=True)
    assert s in _stats.owners
    assert requestx.Session().stats() is None
    ref = weakref.ref(s)
    del s
    gc.collect()
    assert ref() is None
    assert all(o.stats() is not None for o in _stats.owners)


def test_stats_reject_bad_arguments():
    with pytest.raises(ValueError):
        _engine.Stats(0)
    with pytest.raises(TypeError):
        _engine.Client(stats="yes")
    with pytest.raises(TypeError):
        _engine.AsyncClient(1, 0, False, stats=1)
    stats = _engine.Stats()
    with pytest.raises(ValueError):
        stats.count(99, "http://a", "x", 1)
    with pytest.raises(TypeError):
        stats.count(_engine.STAT_RETRY, None, "x", 1)
    with pytest.raises(ValueError):
        requestx.Session(stats=True, stats_max_origins=0)


def test_stats_origins_are_normalised():
    stats = _engine.Stats()
    for url in ("HTTP://User:pw@Example.COM/a?b", "http://example.com:80/", "http://example.com"):
        stats.count(_engine.STAT_RETRY, url, "r", 1)
    stats.count(_engine.STAT_RETRY, "https://[::1]/x", "r", 1)
    names = [o[0] for o in stats.snapshot()["origins"]]
    assert names == ["http://example.com:80", "https://[::1]:443"]
    assert stats.snapshot()["counters"][0][3] == 3


# -- optional packages stay out ---------------------------------------------------


def test_ordinary_use_imports_neither_optional_package(fault_server):
    code = textwrap.dedent(
        f"""
        import asyncio, sys
        import httpx
        import requestx
        s = requestx.Session(stats=True)
        s.get("{fault_server.url}/ok"); s.stats()
        async def main():
            a = requestx.AsyncSession(stats=True)
            await a.get("{fault_server.url}/ok")
        asyncio.run(main())
        with httpx.Client(transport=requestx.HTTPTransport(stats=True)) as c:
            c.get("{fault_server.url}/ok")
        loaded = [m for m in sys.modules if m.startswith(("opentelemetry", "prometheus_client"))]
        print(loaded)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_stats_count_libcurls_resend_of_a_stale_connection(isolated_fault_server):
    server = isolated_fault_server
    recorder = Recorder()
    with requestx.Session(stats=True, observers=[recorder]) as s:
        assert s.get(server.url + "/stale-second").status_code == 200
        assert s.get(server.url + "/stale-second").resent
    snap = s.stats()
    assert [(r["reason"], r["count"]) for r in snap["resends"]] == [("stale_connection", 1)]
    # the re-send was a physical send of the call: it counts among its attempts
    assert recorder.events[-1] == ("request_end", 2, 200, "NoneType")


def test_http3_requests_are_counted_and_their_quic_connection_too(h3_server, tls_materials):
    if "http3" not in _engine.features():
        pytest.skip("this libcurl has no HTTP/3")
    recorder = Recorder()
    with requestx.Session(http3="only", stats=True, observers=[recorder]) as s:
        s.verify = tls_materials.ca_file
        for _ in range(3):
            assert s.get(h3_server.url + "/echo").ok
        snap = s.stats()
        assert recorder.last_result.http_version == "HTTP/3" and recorder.last_result.reused
    (entry,) = snap["requests"]
    assert entry["count"] == 3 and entry["scheme"] == "https"
    (conn,) = snap["connections"]
    assert conn["open"] == 1  # one UDP socket, counted by the same callbacks
    phases = {p["phase"]: p["count"] for p in snap["phases"]}
    assert phases["tls"] == 1 and phases["first_byte"] == 3


def test_an_attempt_that_fails_before_the_engine_ends_with_the_call(fault_server, tmp_path):
    recorder = Recorder()
    s = requestx.Session(observers=[recorder])
    with pytest.raises(OSError):
        s.get(fault_server.url + "/ok", verify=str(tmp_path / "missing-ca.pem"))
    assert recorder.names() == ["request_start", "attempt_start", "attempt_end", "request_end"]
    assert recorder.events[2][2] == "FileNotFoundError"


def test_a_cancelled_async_attempt_ends_once(fault_server):
    recorder = Recorder()

    async def main():
        s = requestx.AsyncSession(observers=[recorder])
        task = asyncio.ensure_future(s.get(fault_server.url + "/stall-headers"))
        while "attempt_start" not in recorder.names():
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(5):
            await asyncio.sleep(0)  # the future's done-callback runs
        await s.close()

    asyncio.run(main())
    assert recorder.names() == ["request_start", "attempt_start", "attempt_end", "request_end"]
    assert recorder.events[2] == ("attempt_end", None, "CancelledError")


def test_a_transport_pool_timeout_ends_its_attempt(fault_server):
    recorder = Recorder()
    limits = httpx.Limits(max_connections=1)
    transport = requestx.HTTPTransport(observers=[recorder], limits=limits)
    with httpx.Client(transport=transport, timeout=httpx.Timeout(5, pool=0.01)) as client:
        with client.stream("GET", fault_server.url + "/ok"):
            with pytest.raises(httpx.PoolTimeout):
                client.get(fault_server.url + "/ok")
    ends = [e for e in recorder.events if e[0] == "attempt_end"]
    assert ("attempt_end", None, "PoolTimeout") in ends


def test_a_forked_child_keeps_counting_with_its_own_gauges(fault_server):
    import json
    import os

    s = requestx.Session(stats=True)
    s.get(fault_server.url + "/ok")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own connection, the parent's counts inherited
        try:
            os.close(read_end)
            s.get(fault_server.url + "/ok")
            snap = s.stats()
            out = {
                "count": _requests(snap, status_code=200)[0]["count"],
                "open": snap["connections"][0]["open"],
            }
            os.write(write_end, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        child = json.loads(pipe.read() or "{}")
    os.waitpid(pid, 0)
    assert child == {"count": 2, "open": 1}
    assert _requests(s.stats(), status_code=200)[0]["count"] == 1


def test_failures_of_one_error_type_are_one_series(fault_server):
    s = requestx.Session(stats=True)
    for path in ("/close", "/reset"):  # CURLcodes 52 and 56, both "response_ended"
        with pytest.raises(requestx.ConnectionError):
            s.get(fault_server.url + path)
        s.close()  # a new connection each: no stale re-send
    failed = _requests(s.stats(), error_type="response_ended")
    assert len(failed) == 1 and failed[0]["count"] == 2 and sum(failed[0]["buckets"]) == 2
