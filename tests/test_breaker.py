"""CircuitBreaker (requestx/policy/breaker.py) on its own: states, probes,
open times, keys, classification, listeners, threads and tasks.

No network and no sleeping: time is a FakeClock the tests advance, and the
attempts are before() / succeeded() / failed() / released() as the retry loop
makes them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import pickle
import threading
import time

import pytest

from requestx.exceptions import CircuitOpenError, ConnectionError
from requestx.policy import breaker as breaker_module
from requestx.policy.breaker import CircuitBreaker, Permit, origin_key

URL = "https://api.example.com/items?page=2"
KEY = "https://api.example.com:443"


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def transitions():
    return []


@pytest.fixture
def breaker(clock, transitions):
    return CircuitBreaker(
        clock=clock, listeners=[lambda *transition: transitions.append(transition)]
    )


@pytest.fixture(autouse=True)
def seeded_jitter():
    state = breaker_module.jitter_random.getstate()
    breaker_module.jitter_random.seed(14)
    yield
    breaker_module.jitter_random.setstate(state)


def fail(breaker, url=URL, times=1):
    for _ in range(times):
        breaker.failed(breaker.before(url))


def succeed(breaker, url=URL, times=1):
    for _ in range(times):
        breaker.succeeded(breaker.before(url))


def trip(breaker, clock, url=URL):
    """Open the circuit, then let its open time pass: half-open."""
    fail(breaker, url, times=breaker.failure_threshold)
    clock.advance(breaker.recovery_timeout)


def run_threads(target, count):
    threads = [threading.Thread(target=target, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    for thread in threads:
        thread.join(timeout=max(0, deadline - time.monotonic()))
    return threads


def rejection(breaker, url=URL):
    with pytest.raises(CircuitOpenError) as caught:
        breaker.before(url)
    return caught.value


# Closed -> open


def test_five_consecutive_failures_open_the_circuit(breaker):
    fail(breaker, times=4)
    assert breaker.state(URL) == "closed"
    fail(breaker)
    assert breaker.state(URL) == "open"


def test_sixth_attempt_is_rejected_with_key_and_retry_after(breaker, clock):
    fail(breaker, times=5)
    clock.advance(0.5)
    error = rejection(breaker)
    assert isinstance(error, ConnectionError)
    assert error.key == KEY
    assert error.state == "open"
    assert error.retry_after == pytest.approx(29.5)


def test_retry_after_counts_down_on_the_clock(breaker, clock):
    fail(breaker, times=5)
    clock.advance(20)
    assert rejection(breaker).retry_after == pytest.approx(10)


def test_success_resets_the_consecutive_count(breaker):
    fail(breaker, times=4)
    succeed(breaker)
    fail(breaker, times=4)
    assert breaker.state(URL) == "closed"
    fail(breaker)
    assert breaker.state(URL) == "open"


def test_failure_threshold_is_configurable(clock):
    breaker = CircuitBreaker(failure_threshold=2, clock=clock)
    fail(breaker)
    assert breaker.state(URL) == "closed"
    fail(breaker)
    assert breaker.state(URL) == "open"


def test_released_attempts_neither_count_nor_reset(breaker):
    fail(breaker, times=4)
    for _ in range(10):
        breaker.released(breaker.before(URL))
    assert breaker.snapshot()[KEY]["failures"] == 4
    fail(breaker)
    assert breaker.state(URL) == "open"


# Open -> half-open: exactly half_open_max_calls probes


def test_circuit_is_half_open_after_recovery_timeout(breaker, clock):
    fail(breaker, times=5)
    clock.advance(29.9)
    assert breaker.state(URL) == "open"
    clock.advance(0.1)
    assert breaker.state(URL) == "half_open"


def test_half_open_permits_one_probe_and_rejects_the_next(breaker, clock):
    trip(breaker, clock)
    probe = breaker.before(URL)
    assert probe.probe and probe.key == KEY
    error = rejection(breaker)
    assert error.state == "half_open"
    assert error.key == KEY
    assert error.retry_after == 0.0


def test_ten_threads_in_half_open_get_one_probe(breaker, clock):
    trip(breaker, clock)
    barrier = threading.Barrier(10)
    permits, rejections = [], []

    def attempt():
        barrier.wait(timeout=10)
        try:
            permits.append(breaker.before(URL))
        except CircuitOpenError as error:
            rejections.append(error)

    run_threads(attempt, 10)
    assert len(permits) == 1 and permits[0].probe
    assert len(rejections) == 9
    assert {error.state for error in rejections} == {"half_open"}


def test_ten_tasks_in_half_open_get_one_probe(breaker, clock):
    trip(breaker, clock)

    async def main():
        start = asyncio.Event()

        async def attempt():
            await start.wait()
            permit = breaker.before(URL)
            await asyncio.sleep(0)  # the probe is "in flight" while the others try
            return permit

        tasks = [asyncio.ensure_future(attempt()) for _ in range(10)]
        await asyncio.sleep(0)
        start.set()
        return await asyncio.gather(*tasks, return_exceptions=True)

    outcomes = asyncio.run(main())
    assert sum(isinstance(outcome, Permit) for outcome in outcomes) == 1
    rejections = [outcome for outcome in outcomes if isinstance(outcome, CircuitOpenError)]
    assert len(rejections) == 9


def test_half_open_max_calls_bounds_concurrent_probes(clock):
    breaker = CircuitBreaker(half_open_max_calls=3, clock=clock)
    trip(breaker, clock)
    probes = [breaker.before(URL) for _ in range(3)]
    assert all(permit.probe for permit in probes)
    rejection(breaker)


def test_released_probe_gives_its_slot_back(breaker, clock):
    trip(breaker, clock)
    probe = breaker.before(URL)
    rejection(breaker)
    breaker.released(probe)
    assert breaker.state(URL) == "half_open"
    assert breaker.before(URL).probe


def test_a_permit_settled_twice_counts_once(breaker, clock):
    trip(breaker, clock)
    first = breaker.before(URL)
    breaker.released(first)
    second = breaker.before(URL)
    breaker.released(first)  # must not free the slot the second probe holds
    rejection(breaker)
    breaker.succeeded(second)
    breaker.failed(second)
    assert breaker.state(URL) == "closed"


# Half-open -> closed or open again


def test_successful_probe_closes_and_listeners_see_each_transition(breaker, clock, transitions):
    trip(breaker, clock)
    breaker.succeeded(breaker.before(URL))
    assert breaker.state(URL) == "closed"
    assert transitions == [
        (KEY, "closed", "open"),
        (KEY, "open", "half_open"),
        (KEY, "half_open", "closed"),
    ]
    assert not breaker.before(URL).probe


def test_success_threshold_probe_successes_close(clock):
    breaker = CircuitBreaker(success_threshold=2, clock=clock)
    trip(breaker, clock)
    breaker.succeeded(breaker.before(URL))
    assert breaker.state(URL) == "half_open"
    breaker.succeeded(breaker.before(URL))
    assert breaker.state(URL) == "closed"


def test_failed_probe_reopens_for_about_twice_the_time(breaker, clock, transitions):
    trip(breaker, clock)
    breaker.failed(breaker.before(URL))
    assert transitions[-1] == (KEY, "half_open", "open")
    assert 54 <= rejection(breaker).retry_after <= 66


def test_reopen_time_is_jittered_within_ten_percent(clock):
    times = set()
    for _ in range(20):
        breaker = CircuitBreaker(clock=clock)
        trip(breaker, clock)
        breaker.failed(breaker.before(URL))
        times.add(round(rejection(breaker).retry_after, 6))
    assert all(54 <= seconds <= 66 for seconds in times)
    assert len(times) > 10  # not the same factor every time


def test_seeded_jitter_repeats(clock):
    def reopen_time():
        breaker = CircuitBreaker(clock=clock)
        trip(breaker, clock)
        breaker.failed(breaker.before(URL))
        return rejection(breaker).retry_after

    breaker_module.jitter_random.seed(7)
    first = reopen_time()
    breaker_module.jitter_random.seed(7)
    assert reopen_time() == first


def test_open_time_doubles_on_each_failed_probe_up_to_the_cap(breaker, clock):
    fail(breaker, times=5)
    seen = []
    for _ in range(12):
        clock.advance(breaker.snapshot()[KEY]["open_until"] - clock())
        breaker.failed(breaker.before(URL))
        seen.append(rejection(breaker).retry_after)
    for doubled, seconds in zip([60, 120, 240], seen):
        assert 0.9 * doubled <= seconds <= 1.1 * doubled
    assert all(seconds <= 300 + 1e-9 for seconds in seen)
    assert all(270 - 1e-9 <= seconds for seconds in seen[3:])
    assert len({round(seconds, 6) for seconds in seen[3:]}) > 1  # still jittered at the cap


def test_closing_resets_the_open_time(breaker, clock):
    trip(breaker, clock)
    breaker.failed(breaker.before(URL))
    clock.advance(70)
    breaker.succeeded(breaker.before(URL))
    fail(breaker, times=5)
    assert rejection(breaker).retry_after == pytest.approx(30)


def test_stale_results_do_not_move_a_half_open_circuit(breaker, clock):
    early = breaker.before(URL)  # sent while closed, answered after the circuit opened
    trip(breaker, clock)
    probe = breaker.before(URL)
    breaker.failed(early)
    assert breaker.state(URL) == "half_open"
    breaker.succeeded(probe)
    assert breaker.state(URL) == "closed"


def test_a_probe_answered_after_its_circuit_reopened_is_ignored(clock):
    breaker = CircuitBreaker(half_open_max_calls=2, clock=clock)
    trip(breaker, clock)
    failing, late = breaker.before(URL), breaker.before(URL)
    breaker.failed(failing)
    breaker.succeeded(late)
    assert breaker.state(URL) == "open"


def test_a_probe_of_an_earlier_half_open_period_is_ignored(clock):
    breaker = CircuitBreaker(half_open_max_calls=3, clock=clock)
    trip(breaker, clock)
    failing, released, failed = (breaker.before(URL) for _ in range(3))
    breaker.failed(failing)
    clock.advance(breaker.max_recovery_timeout)
    assert breaker.before(URL).probe
    breaker.released(released)  # must not free a slot of this period
    breaker.failed(failed)  # must not re-open it
    assert breaker.state(URL) == "half_open"
    assert breaker.before(URL).probe and breaker.before(URL).probe
    rejection(breaker)


# Keys


@pytest.mark.parametrize(
    "url, key",
    [
        ("https://h", "https://h:443"),
        ("https://h:443/x?y#z", "https://h:443"),
        ("HTTPS://H/", "https://h:443"),
        ("http://h", "http://h:80"),
        ("http://H:8080/a", "http://h:8080"),
        ("http://h:080", "http://h:80"),
        ("ws://h/socket", "ws://h:80"),
        ("wss://h", "wss://h:443"),
        ("https://user:secret@h/", "https://h:443"),
        ("http://[::1]/", "http://[::1]:80"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("https://[FE80::1]", "https://[fe80::1]:443"),
        ("ftp://h/file", "ftp://h"),
    ],
)
def test_origin_key(url, key):
    assert origin_key(url) == key


def test_http_and_https_of_one_host_are_separate_circuits(breaker):
    fail(breaker, "https://h/", times=5)
    assert breaker.state("https://h") == "open"
    assert breaker.state("http://h") == "closed"
    assert not breaker.before("http://h/").probe


def test_default_port_and_case_name_one_circuit(breaker):
    fail(breaker, "https://h/a", times=2)
    fail(breaker, "https://h:443/b", times=2)
    fail(breaker, "HTTPS://H/c", times=1)
    assert rejection(breaker, "https://h:443/").key == "https://h:443"


def test_ipv6_hosts_are_keyed_by_address_and_port(breaker):
    fail(breaker, "http://[::1]:8080/", times=5)
    assert breaker.state("http://[::1]:8080") == "open"
    assert breaker.state("http://[::1]/") == "closed"
    assert rejection(breaker, "http://[::1]:8080/x").key == "http://[::1]:8080"


def test_key_callable_overrides_the_origin(clock):
    breaker = CircuitBreaker(key=lambda url: url.split("/")[3], clock=clock)
    fail(breaker, "https://a.example/billing/1", times=5)
    assert breaker.state("billing") == "open"
    assert rejection(breaker, "https://b.example/billing/2").key == "billing"
    assert not breaker.before("https://a.example/search").probe


def test_key_callable_runs_outside_the_lock(clock):
    def key(url):
        breaker.snapshot()  # would deadlock if called under the lock
        return origin_key(url)

    breaker = CircuitBreaker(key=key, clock=clock)

    def use():
        fail(breaker, times=5)
        breaker.force_open("https://other.example/")
        breaker.state("https://other.example/")
        breaker.reset("https://other.example/")

    [worker] = run_threads(use, 1)
    assert not worker.is_alive(), "the key callable deadlocked"
    assert breaker.state(URL) == "open"


# What counts as a failure


@pytest.mark.parametrize("status", [400, 401, 404, 409, 429])
def test_4xx_responses_are_not_failures(breaker, status):
    assert not breaker.is_failure_outcome(response=Response(status))


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_failure_statuses_are_failures(breaker, status):
    assert breaker.is_failure_outcome(response=Response(status))


@pytest.mark.parametrize("status", [200, 204, 301, 501, 505])
def test_other_statuses_are_not_failures(breaker, status):
    assert not breaker.is_failure_outcome(response=Response(status))


def test_failure_statuses_are_configurable():
    breaker = CircuitBreaker(failure_statuses={501})
    assert breaker.is_failure_outcome(response=Response(501))
    assert not breaker.is_failure_outcome(response=Response(503))


def test_4xx_failure_statuses_are_refused():
    with pytest.raises(ValueError, match="is_failure"):
        CircuitBreaker(failure_statuses={429, 503})


def test_transport_errors_are_failures(breaker):
    assert breaker.is_failure_outcome(error=ConnectionError("reset"))
    assert breaker.is_failure_outcome(error=OSError("refused"))


def test_cancellation_is_not_a_failure(breaker):
    assert not breaker.is_failure_outcome(error=asyncio.CancelledError())
    assert not breaker.is_failure_outcome(error=KeyboardInterrupt())


def test_is_failure_overrides_when_it_returns_a_bool():
    def is_failure(response, error):
        if response is not None and response.status_code == 429:
            return True
        if isinstance(error, TimeoutError):
            return False
        return None

    breaker = CircuitBreaker(is_failure=is_failure)
    assert breaker.is_failure_outcome(response=Response(429))
    assert not breaker.is_failure_outcome(error=TimeoutError())
    assert breaker.is_failure_outcome(response=Response(503))  # None: the default rule
    assert not breaker.is_failure_outcome(response=Response(404))


# Control and introspection


def test_unknown_circuits_are_closed_and_not_stored(breaker):
    assert breaker.state("https://never.example") == "closed"
    fail(breaker, times=3)
    succeed(breaker)
    assert breaker.snapshot() == {}


def test_snapshot_lists_failures_and_open_until(breaker, clock):
    fail(breaker, "http://a/", times=2)
    fail(breaker, "http://b/", times=5)
    assert breaker.snapshot() == {
        "http://a:80": {
            "state": "closed",
            "failures": 2,
            "open_until": None,
            "probes_in_flight": 0,
        },
        "http://b:80": {
            "state": "open",
            "failures": 5,
            "open_until": clock() + 30,
            "probes_in_flight": 0,
        },
    }


def test_reset_closes_one_circuit(breaker, transitions):
    fail(breaker, "http://a/", times=5)
    fail(breaker, "http://b/", times=5)
    breaker.reset("http://a")
    assert breaker.state("http://a/") == "closed"
    assert breaker.state("http://b/") == "open"
    assert transitions[-1] == ("http://a:80", "open", "closed")


def test_reset_without_a_key_closes_all(breaker):
    fail(breaker, "http://a/", times=5)
    fail(breaker, "http://b/", times=4)
    breaker.reset()
    assert breaker.snapshot() == {}
    fail(breaker, "http://b/", times=4)
    assert breaker.state("http://b/") == "closed"


def test_reset_by_key_or_by_url(breaker):
    fail(breaker, times=5)
    breaker.reset(KEY)
    assert breaker.state(URL) == "closed"
    fail(breaker, times=5)
    breaker.reset("HTTPS://API.EXAMPLE.COM/other")
    assert breaker.state(URL) == "closed"


def test_force_open_rejects_at_once_then_half_opens(breaker, clock, transitions):
    breaker.force_open(URL)
    assert transitions == [(KEY, "closed", "open")]
    assert rejection(breaker).retry_after == pytest.approx(30)
    clock.advance(30)
    assert breaker.before(URL).probe


def test_force_open_for_a_given_time(breaker, clock):
    breaker.force_open(KEY, seconds=5)
    assert rejection(breaker).retry_after == pytest.approx(5)
    breaker.force_open(KEY, seconds=math.inf)
    clock.advance(10**9)
    assert breaker.state(KEY) == "open"


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(half_open_max_calls=0)
    with pytest.raises(ValueError):
        CircuitBreaker(recovery_timeout=60, max_recovery_timeout=30)


def test_pickling_keeps_the_settings_and_starts_closed(clock):
    breaker = CircuitBreaker(failure_threshold=2, recovery_timeout=7.0)
    fail(breaker, times=2)
    copy = pickle.loads(pickle.dumps(breaker))
    assert (copy.failure_threshold, copy.recovery_timeout) == (2, 7.0)
    assert copy.state(URL) == "closed"
    fail(copy, times=2)
    assert copy.state(URL) == "open"


# Listeners


def test_a_raising_listener_is_logged_and_ignored(clock, caplog):
    seen = []

    def broken(key, old, new):
        raise RuntimeError("listener bug")

    breaker = CircuitBreaker(clock=clock, listeners=[broken, lambda *t: seen.append(t)])
    with caplog.at_level(logging.ERROR, logger="requestx.breaker"):
        fail(breaker, times=5)
    assert breaker.state(URL) == "open"
    assert seen == [(KEY, "closed", "open")]
    [record] = [r for r in caplog.records if r.name == "requestx.breaker"]
    assert "listener bug" in record.exc_text


def test_listeners_run_outside_the_lock(clock):
    states = []
    breaker = CircuitBreaker(
        clock=clock, listeners=[lambda key, old, new: states.append(breaker.snapshot())]
    )
    worker = threading.Thread(target=fail, args=(breaker,), kwargs={"times": 5}, daemon=True)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive(), "a listener calling the breaker deadlocked"
    assert states[0][KEY]["state"] == "open"


def test_transitions_made_by_a_listener_are_delivered_in_order(clock):
    seen = []

    def listener(key, old, new):
        seen.append((old, new))
        if new == "open":
            breaker.reset(key)

    breaker = CircuitBreaker(clock=clock, listeners=[listener])
    fail(breaker, times=5)
    assert seen == [("closed", "open"), ("open", "closed")]
    assert breaker.state(URL) == "closed"


# Sharing between threads and tasks


def test_closed_circuit_never_serialises_attempts(breaker):
    # Each thread holds its permit while the others take theirs: if before()
    # kept a lock until succeeded(), the barrier would never fill.
    count = 8
    barrier = threading.Barrier(count)
    errors = []

    def attempt():
        try:
            permit = breaker.before(URL)
            barrier.wait(timeout=2)  # "the I/O"
            breaker.succeeded(permit)
        except Exception as error:
            errors.append(error)

    threads = run_threads(attempt, count)
    assert not any(thread.is_alive() for thread in threads), "before() blocked"
    assert errors == []
    assert breaker.state(URL) == "closed"


def test_failures_from_threads_and_tasks_count_together(breaker):
    barrier = threading.Barrier(3)

    def attempt():
        permit = breaker.before(URL)
        barrier.wait(timeout=5)
        breaker.failed(permit)

    run_threads(attempt, 3)

    async def main():
        async def attempt():
            permit = breaker.before(URL)
            await asyncio.sleep(0)
            breaker.failed(permit)

        await asyncio.gather(attempt(), attempt())

    asyncio.run(main())
    assert breaker.state(URL) == "open"
