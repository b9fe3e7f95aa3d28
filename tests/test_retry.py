"""requestx.policy.retry: Retry and the loop's decisions, against urllib3's Retry.

Unit tests: no network, no sleeping. urllib3 (installed with requests) is the
reference: each behaviour is checked on a requestx Retry, on a urllib3 Retry
passed through our functions, and, where urllib3 has one, against its own
``increment``.
"""

from __future__ import annotations

import ast
import calendar
import email.utils
import time
from pathlib import Path

import pytest
import urllib3
import urllib3.exceptions as u3exc
from urllib3.response import HTTPResponse

from requestx.exceptions import InvalidHeader
from requestx.policy import retry as retry_module
from requestx.policy.retry import (
    Failure,
    RequestHistory,
    Retry,
    as_retry,
    next_retry,
    retry_after_seconds,
    retry_delay,
    status_retry,
)

U3Retry = urllib3.util.Retry
URL = "http://example.test/path"
COUNTERS = ("total", "connect", "read", "redirect", "status", "other")
ATTRIBUTES = (
    *COUNTERS,
    "allowed_methods",
    "status_forcelist",
    "backoff_factor",
    "backoff_max",
    "raise_on_redirect",
    "raise_on_status",
    "history",
    "respect_retry_after_header",
    "remove_headers_on_redirect",
    "backoff_jitter",
    "retry_after_max",
)


def counters(retry):
    return tuple(getattr(retry, name) for name in COUNTERS)


class FakeResponse:
    def __init__(self, headers):
        self.headers = headers


# --- construction, defaults, repr ------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "DEFAULT_ALLOWED_METHODS",
        "RETRY_AFTER_STATUS_CODES",
        "DEFAULT_REMOVE_HEADERS_ON_REDIRECT",
        "DEFAULT_BACKOFF_MAX",
        "DEFAULT_RETRY_AFTER_MAX",
    ],
)
def test_class_constants_match_urllib3(name):
    assert getattr(Retry, name) == getattr(U3Retry, name)


def test_class_constants_values():
    assert Retry.DEFAULT_ALLOWED_METHODS == {"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE"}
    assert Retry.RETRY_AFTER_STATUS_CODES == {413, 429, 503}
    assert Retry.DEFAULT_BACKOFF_MAX == 120
    assert Retry.DEFAULT_RETRY_AFTER_MAX == 21600


@pytest.mark.parametrize("name", ATTRIBUTES)
def test_default_attributes_match_urllib3(name):
    assert getattr(Retry(), name) == getattr(U3Retry(), name)


def test_default_is_retry_3():
    assert isinstance(Retry.DEFAULT, Retry)
    assert counters(Retry.DEFAULT) == (3, None, None, None, None, None)


CONFIGS = [
    {},
    {"total": 3},
    {"total": 0},
    {"total": 0, "read": False},
    {"total": False},
    {"total": True},
    {"total": None, "connect": 2, "read": 1, "redirect": 1, "status": 2, "other": 1},
    {"total": 5, "read": False},
    {"total": 3, "connect": False},
    {"total": 4, "redirect": False},
    {"total": 2, "allowed_methods": None},
]


@pytest.mark.parametrize("config", CONFIGS, ids=repr)
def test_repr_and_attributes_match_urllib3(config):
    ours, theirs = Retry(**config), U3Retry(**config)
    assert repr(ours) == repr(theirs)
    for name in ATTRIBUTES:
        assert getattr(ours, name) == getattr(theirs, name), name


def test_total_false_disables_redirects_and_their_raise():
    retry = Retry(total=False)
    assert retry.redirect == 0
    assert retry.raise_on_redirect is False


def test_remove_headers_on_redirect_is_lowercased():
    assert Retry(remove_headers_on_redirect=["X-Token"]).remove_headers_on_redirect == {"x-token"}


def test_new_replaces_and_keeps_the_rest():
    base = Retry(5, backoff_factor=0.3, status_forcelist=[502], backoff="full_jitter")
    copy = base.new(total=2)
    assert copy.total == 2
    assert copy.backoff_factor == 0.3
    assert copy.status_forcelist == [502]
    assert copy.backoff == "full_jitter"
    assert base.total == 5


def test_backoff_must_be_a_known_name():
    with pytest.raises(ValueError, match="full_jitter"):
        Retry(backoff="linear")


def test_backoff_must_be_a_name_or_a_callable():
    with pytest.raises(TypeError, match="backoff"):
        Retry(backoff=3)


# --- from_int ----------------------------------------------------------------


@pytest.mark.parametrize("value", [None, 0, 3, False, True])
@pytest.mark.parametrize("redirect", [True, False, 2])
def test_from_int_matches_urllib3(value, redirect):
    ours = Retry.from_int(value, redirect=redirect)
    theirs = U3Retry.from_int(value, redirect=redirect)
    assert repr(ours) == repr(theirs)
    assert ours.raise_on_redirect == theirs.raise_on_redirect


def test_from_int_none_is_default():
    assert Retry.from_int(None) is Retry.DEFAULT


def test_from_int_none_takes_the_given_default():
    default = Retry(7)
    assert Retry.from_int(None, default=default) is default


def test_from_int_passes_a_retry_through():
    retry = Retry(2)
    assert Retry.from_int(retry) is retry


def test_from_int_passes_a_urllib3_retry_through():
    retry = U3Retry(2)
    assert Retry.from_int(retry) is retry


# --- backoff -------------------------------------------------------------------


def backoffs_after_errors(retry, n, kind="connect"):
    """get_backoff_time() after each of n failures counted by next_retry."""
    times = []
    for _ in range(n):
        retry = next_retry(retry, "GET", Failure(kind, error=OSError("x")))
        times.append(retry.get_backoff_time())
    return times


def backoffs_by_urllib3_increment(retry, n):
    times = []
    for _ in range(n):
        retry = retry.increment("GET", URL, error=u3exc.ConnectTimeoutError("x"))
        times.append(retry.get_backoff_time())
    return times


@pytest.mark.parametrize("make", [Retry, U3Retry], ids=["requestx", "urllib3"])
def test_backoff_sequence_of_factor_0_1(make):
    retry = make(10, backoff_factor=0.1)
    assert backoffs_after_errors(retry, 4) == pytest.approx([0, 0.2, 0.4, 0.8])


def test_backoff_sequence_matches_urllib3_increment():
    ours = backoffs_after_errors(Retry(10, backoff_factor=0.3), 8)
    theirs = backoffs_by_urllib3_increment(U3Retry(10, backoff_factor=0.3), 8)
    assert ours == pytest.approx(theirs)


def test_backoff_is_capped_by_backoff_max():
    times = backoffs_after_errors(Retry(10, backoff_factor=1, backoff_max=5), 6)
    assert times == pytest.approx([0, 2, 4, 5, 5, 5])


def test_backoff_of_a_long_history_caps_instead_of_overflowing():
    history = tuple(RequestHistory("GET", URL, None, None, None) for _ in range(2000))
    assert Retry(backoff_factor=0.5, history=history).get_backoff_time() == 120


def test_backoff_counts_only_errors_since_the_last_redirect():
    retry = Retry(10, backoff_factor=1)
    for kind in ("connect", "connect", "connect"):
        retry = next_retry(retry, "GET", Failure(kind))
    assert retry.get_backoff_time() == 4
    retry = next_retry(retry, "GET", Failure("redirect", status=302, redirect_location="/a"))
    assert retry.get_backoff_time() == 0
    retry = next_retry(retry, "GET", Failure("connect"))
    assert retry.get_backoff_time() == 0
    retry = next_retry(retry, "GET", Failure("connect"))
    assert retry.get_backoff_time() == 2


def test_backoff_jitter_stays_within_value_and_value_plus_jitter():
    retry_module._random.seed(1)
    retry = Retry(10, backoff_factor=0.5, backoff_jitter=0.25)
    for _ in range(3):
        retry = next_retry(retry, "GET", Failure("connect"))
    draws = [retry.get_backoff_time() for _ in range(1000)]
    assert all(2.0 <= d <= 2.25 for d in draws)
    assert max(draws) - min(draws) > 0.2  # it does jitter


def test_backoff_jitter_is_added_before_the_cap():
    retry = Retry(10, backoff_factor=1, backoff_max=4, backoff_jitter=10)
    for _ in range(3):
        retry = next_retry(retry, "GET", Failure("connect"))
    assert all(retry.get_backoff_time() == 4 for _ in range(100))


def chain(retry, errors):
    for _ in range(errors):
        retry = next_retry(retry, "GET", Failure("connect"))
    return retry


@pytest.mark.parametrize("errors", [2, 3, 4, 5, 8])
def test_full_jitter_stays_within_zero_and_the_exponential_value(errors):
    retry_module._random.seed(errors)
    retry = chain(Retry(20, backoff_factor=0.5, backoff_max=10, backoff="full_jitter"), errors)
    bound = min(10, 0.5 * 2 ** (errors - 1))
    draws = [retry.get_backoff_time() for _ in range(1000)]
    assert all(0 <= d <= bound for d in draws)
    assert min(draws) < bound / 4 and max(draws) > bound * 3 / 4


def test_full_jitter_waits_nothing_before_the_first_retry():
    assert chain(Retry(backoff_factor=1, backoff="full_jitter"), 1).get_backoff_time() == 0


def test_decorrelated_stays_within_base_and_three_times_the_previous():
    retry_module._random.seed(7)
    base, cap = 0.5, 20.0
    configured = Retry(total=None, backoff_factor=base, backoff_max=cap, backoff="decorrelated")
    draws = 0
    while draws < 1000:
        retry = chain(configured, 1)
        assert retry.get_backoff_time() == 0
        previous = base
        for _ in range(9):
            retry = next_retry(retry, "GET", Failure("connect"))
            delay = retry.get_backoff_time()
            assert base <= delay <= min(cap, previous * 3)
            previous = delay
            draws += 1
    assert previous <= cap


def test_decorrelated_is_drawn_once_per_step():
    retry = chain(Retry(backoff_factor=1, backoff="decorrelated"), 3)
    assert len({retry.get_backoff_time() for _ in range(20)}) == 1


class HighestDraw:
    """A random source whose uniform() always gives the top of the range."""

    def uniform(self, low, high):
        return max(low, high)

    def random(self):
        return 1.0


def test_decorrelated_grows_from_the_previous_delay_of_its_own_chain(monkeypatch):
    monkeypatch.setattr(retry_module, "_random", HighestDraw())
    retry = Retry(total=None, backoff_factor=1, backoff_max=1000, backoff="decorrelated")
    delays = []
    for _ in range(5):
        retry = next_retry(retry, "GET", Failure("connect"))
        delays.append(retry.get_backoff_time())
    assert delays == [0, 3, 9, 27, 81]


def step(retry):
    retry = next_retry(retry, "GET", Failure("connect"))
    return retry, retry.get_backoff_time()


def test_two_request_chains_do_not_share_decorrelated_state(monkeypatch):
    monkeypatch.setattr(retry_module, "_random", HighestDraw())
    configured = Retry(total=None, backoff_factor=1, backoff_max=1000, backoff="decorrelated")
    first = configured
    for _ in range(4):
        first, first_delay = step(first)
    assert first_delay == 27
    second, _ = step(configured)
    second, second_delay = step(second)
    assert second_delay == 3
    first, first_delay = step(first)  # grows from its own 27, not from the other's 3
    second, second_delay = step(second)  # grows from its own 3, not from the other's 81
    assert (first_delay, second_delay) == (81, 9)
    assert configured.get_backoff_time() == 0


def test_decorrelated_starts_over_after_a_redirect(monkeypatch):
    monkeypatch.setattr(retry_module, "_random", HighestDraw())
    retry = Retry(total=None, backoff_factor=1, backoff_max=1000, backoff="decorrelated")
    for _ in range(4):
        retry = next_retry(retry, "GET", Failure("connect"))
        retry.get_backoff_time()
    assert retry.get_backoff_time() == 27
    retry = next_retry(retry, "GET", Failure("redirect", status=302, redirect_location="/b"))
    retry = chain(retry, 2)
    assert retry.get_backoff_time() == 3


def test_callable_backoff_gets_the_retry():
    seen = []

    def strategy(retry):
        seen.append(retry)
        return len(retry.history) * 1.5

    retry = chain(Retry(backoff=strategy), 2)
    assert retry.get_backoff_time() == 3.0
    assert seen == [retry]


@pytest.mark.parametrize(("returned", "expected"), [(-5, 0.0), (500, 7.0), (2, 2.0)])
def test_callable_backoff_is_clamped_to_zero_and_backoff_max(returned, expected):
    retry = Retry(backoff_max=7, backoff=lambda retry: returned)
    assert retry.get_backoff_time() == expected


# --- next_retry against urllib3's increment -----------------------------------


def make_failure(kind, error):
    if kind == "status":
        return Failure("status", status=503, url=URL)
    if kind == "redirect":
        return Failure("redirect", status=302, url=URL, redirect_location="/next")
    return Failure(kind, error=error, url=URL)


def urllib3_increment(retry, kind, method, error):
    """urllib3's own count of one failure; None where it raises."""
    if kind == "status":
        response = HTTPResponse(status=503)
    elif kind == "redirect":
        response = HTTPResponse(status=302, headers={"Location": "/next"})
    else:
        response = None
    try:
        if response is None:
            return retry.increment(method, URL, error=error)
        return retry.increment(method, URL, response=response)
    except (u3exc.MaxRetryError, u3exc.HTTPError):
        return None


ERRORS = {
    "connect": lambda: u3exc.ConnectTimeoutError("connect timed out"),
    "read": lambda: u3exc.ReadTimeoutError(None, URL, "read timed out"),
    "other": lambda: u3exc.SSLError("handshake"),
    "status": lambda: None,
    "redirect": lambda: None,
}

SEQUENCES = {
    "connect": [("connect", "GET")] * 6,
    "connect-post": [("connect", "POST")] * 6,
    "read-get": [("read", "GET")] * 6,
    "read-post": [("read", "POST")] * 6,
    "other": [("other", "GET")] * 6,
    "status": [("status", "GET")] * 6,
    "redirect": [("redirect", "GET")] * 6,
    "mixed": [
        ("connect", "GET"),
        ("redirect", "GET"),
        ("read", "GET"),
        ("status", "GET"),
        ("other", "GET"),
        ("connect", "GET"),
        ("read", "GET"),
    ],
}


def run_ours(retry, steps, **kw):
    states = []
    for kind, method in steps:
        retry = next_retry(retry, method, make_failure(kind, ERRORS[kind]()), **kw)
        if retry is None:
            states.append(None)
            break
        states.append((counters(retry), tuple(h[:2] + h[3:] for h in retry.history)))
    return states


def run_urllib3(retry, steps):
    states = []
    for kind, method in steps:
        retry = urllib3_increment(retry, kind, method, ERRORS[kind]())
        if retry is None:
            states.append(None)
            break
        states.append((counters(retry), tuple(h[:2] + h[3:] for h in retry.history)))
    return states


@pytest.mark.parametrize("sequence", SEQUENCES, ids=str)
@pytest.mark.parametrize("config", CONFIGS, ids=repr)
@pytest.mark.parametrize("make", [Retry, U3Retry], ids=["requestx", "urllib3"])
def test_next_retry_counts_as_urllib3_increment(make, config, sequence):
    steps = SEQUENCES[sequence]
    expected = run_urllib3(U3Retry(**config), steps)
    assert run_ours(make(**config), steps) == expected


def test_next_retry_parity_cases_end_at_different_steps():
    """The parity matrix is not trivial: urllib3 gives up at every step from
    the first to the last, and some sequences are never refused."""
    outcomes = [
        run_urllib3(U3Retry(**config), steps) for config in CONFIGS for steps in SEQUENCES.values()
    ]
    refused_at = {len(states) for states in outcomes if states[-1] is None}
    assert refused_at >= {1, 2, 3, 4, 5, 6}
    assert any(states[-1] is not None for states in outcomes)


@pytest.mark.parametrize("make", [Retry, U3Retry], ids=["requestx", "urllib3"])
def test_next_retry_keeps_a_history_of_request_history(make):
    error = OSError("refused")
    retry = next_retry(make(3), "GET", Failure("connect", error=error, url=URL))
    retry = next_retry(
        retry, "GET", Failure("redirect", status=301, url=URL, redirect_location="/x")
    )
    assert retry.history == (
        RequestHistory("GET", URL, error, None, None),
        RequestHistory("GET", URL, None, 301, "/x"),
    )


def test_next_retry_returns_a_new_retry_and_leaves_the_old_one():
    configured = Retry(3)
    following = next_retry(configured, "GET", Failure("connect"))
    assert following is not configured
    assert (configured.total, configured.history) == (3, ())
    assert following.total == 2


@pytest.mark.parametrize("kind", ["connect", "read", "other", "status", "redirect"])
def test_retry_zero_never_retries(kind):
    assert next_retry(Retry(0), "GET", make_failure(kind, None)) is None


@pytest.mark.parametrize("kind", ["connect", "read", "other", "status", "redirect"])
def test_requests_default_retry_zero_read_false_never_retries(kind):
    assert next_retry(Retry(0, read=False), "GET", make_failure(kind, None)) is None


@pytest.mark.parametrize("kind", ["connect", "read", "other", "status", "redirect"])
def test_total_false_never_retries(kind):
    assert next_retry(Retry(total=False), "GET", make_failure(kind, None)) is None


def test_read_error_of_a_post_is_not_retried():
    assert next_retry(Retry(3), "POST", Failure("read")) is None


def test_read_error_of_a_post_with_an_idempotency_key_is_retried():
    retry = next_retry(Retry(3), "POST", Failure("read"), idempotent=True)
    assert retry is not None and retry.total == 2


def test_idempotent_does_not_override_read_false():
    assert next_retry(Retry(3, read=False), "POST", Failure("read"), idempotent=True) is None


def test_connect_error_of_a_post_is_retried():
    assert next_retry(Retry(3), "POST", Failure("connect")).total == 2


def test_read_error_without_a_method_is_not_retried():
    assert next_retry(Retry(3, allowed_methods=None), None, Failure("read")) is None


def test_allowed_methods_are_matched_case_insensitively():
    assert next_retry(Retry(3), "get", Failure("read")).read is None


@pytest.mark.parametrize("make", [Retry, U3Retry], ids=["requestx", "urllib3"])
def test_status_of_a_method_not_allowed_is_not_retried(make):
    assert next_retry(make(3, status_forcelist=[503]), "POST", Failure("status", 503)) is None


def test_allowed_methods_none_retries_any_method():
    retry = Retry(3, allowed_methods=None)
    assert next_retry(retry, "POST", Failure("read")).total == 2
    assert next_retry(retry, "PATCH", Failure("status", 503)).total == 2


def test_failure_kind_is_checked():
    with pytest.raises(ValueError, match="connect"):
        Failure("timeout")


# --- is_retry and status_retry --------------------------------------------------


IS_RETRY_CONFIGS = [
    {"total": 3},
    {"total": 0},
    {"total": 3, "status_forcelist": [500, 502]},
    {"total": 0, "status_forcelist": [500]},
    {"total": 3, "respect_retry_after_header": False},
    {"total": 3, "allowed_methods": None},
    {"total": False, "status_forcelist": [503]},
]


@pytest.mark.parametrize("config", IS_RETRY_CONFIGS, ids=repr)
@pytest.mark.parametrize("method", ["GET", "POST", "delete"])
@pytest.mark.parametrize("status", [200, 413, 429, 500, 502, 503])
@pytest.mark.parametrize("has_retry_after", [False, True])
def test_is_retry_matches_urllib3(config, method, status, has_retry_after):
    expected = U3Retry(**config).is_retry(method, status, has_retry_after)
    assert Retry(**config).is_retry(method, status, has_retry_after) is expected


def test_retry_3_retries_a_503_with_retry_after_without_forcelist():
    assert Retry(3).is_retry("GET", 503, has_retry_after=True)


def test_retry_3_does_not_retry_a_503_without_retry_after():
    assert not Retry(3).is_retry("GET", 503)


def test_retry_0_never_retries_a_503_with_retry_after():
    assert not Retry(0).is_retry("GET", 503, has_retry_after=True)


def test_forcelist_retries_without_retry_after():
    assert Retry(3, status_forcelist=[502]).is_retry("GET", 502)


@pytest.mark.parametrize("make", [Retry, U3Retry], ids=["requestx", "urllib3"])
@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, False), ("2", True), ("garbage", False), ("1.5", False), ("Wed, 21 Oct 2015", False)],
)
def test_status_retry_counts_only_a_valid_retry_after(make, header, expected):
    assert status_retry(make(3), "GET", 503, header) is expected


@pytest.mark.parametrize("make", [Retry, U3Retry], ids=["requestx", "urllib3"])
def test_status_retry_uses_the_forcelist(make):
    assert status_retry(make(3, status_forcelist=[500]), "GET", 500, None) is True
    assert status_retry(make(3, status_forcelist=[500]), "POST", 500, None) is False


# --- Retry-After -----------------------------------------------------------------

NOW = 1_700_000_000.0


def http_date(moment):
    return email.utils.formatdate(moment, usegmt=True)


@pytest.mark.parametrize(("value", "seconds"), [("2", 2), ("  5 ", 5), ("0", 0), ("007", 7)])
def test_parse_retry_after_integer_seconds(value, seconds):
    assert Retry().parse_retry_after(value) == seconds
    assert U3Retry().parse_retry_after(value) == seconds


def test_parse_retry_after_http_date_ahead():
    assert Retry().parse_retry_after(http_date(NOW + 3), now=NOW) == 3


def test_parse_retry_after_http_date_uses_the_clock(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: NOW)
    value = http_date(NOW + 3)
    assert Retry().parse_retry_after(value) == U3Retry().parse_retry_after(value) == 3


def test_parse_retry_after_http_date_in_the_past_is_zero():
    assert Retry().parse_retry_after(http_date(NOW - 60), now=NOW) == 0


def test_parse_retry_after_asctime_date_is_utc(monkeypatch):
    value = "Sun Nov  6 08:49:37 1994"
    moment = calendar.timegm((1994, 11, 6, 8, 49, 37, 0, 0, 0))
    monkeypatch.setenv("TZ", "EST+5")  # a local time five hours off UTC must not be used
    time.tzset()
    try:
        assert Retry().parse_retry_after(value, now=moment - 10) == 10
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("value", ["1.5", "garbage", "", "-1", "5 s", "Wed, 21 Oct 2015"])
def test_parse_retry_after_rejects_what_urllib3_rejects(value):
    with pytest.raises(u3exc.InvalidHeader):
        U3Retry().parse_retry_after(value)
    with pytest.raises(InvalidHeader, match="Retry-After"):
        Retry().parse_retry_after(value)


def test_parse_retry_after_huge_value_is_capped():
    assert Retry().parse_retry_after("99999999999999999999") == 21600
    assert Retry(retry_after_max=120).parse_retry_after("300") == 120


def test_parse_retry_after_far_date_is_capped():
    assert Retry().parse_retry_after(http_date(NOW + 10**7), now=NOW) == 21600


def test_get_retry_after_reads_the_header():
    assert Retry().get_retry_after(FakeResponse({"Retry-After": "4"})) == 4


def test_get_retry_after_absent_is_none():
    assert Retry().get_retry_after(FakeResponse({})) is None


@pytest.mark.parametrize("value", ["1.5", "garbage"])
def test_get_retry_after_invalid_is_none(value):
    assert Retry().get_retry_after(FakeResponse({"Retry-After": value})) is None


@pytest.mark.parametrize("make", [Retry, U3Retry], ids=["requestx", "urllib3"])
def test_retry_after_seconds_caps_at_the_retries_maximum(make):
    retry = make(retry_after_max=30)
    assert retry_after_seconds(retry, "100") == 30
    assert retry_after_seconds(retry, "7") == 7
    assert retry_after_seconds(retry, "soon") is None
    assert retry_after_seconds(retry, None) is None


# --- retry_delay -------------------------------------------------------------------


def test_retry_delay_prefers_retry_after():
    retry = chain(Retry(10, backoff_factor=1), 3)
    assert retry_delay(retry, 7.0) == 7.0


def test_retry_delay_falls_back_to_backoff_without_retry_after():
    retry = chain(Retry(10, backoff_factor=1), 3)
    assert retry_delay(retry, None) == 4.0


def test_retry_delay_of_zero_retry_after_is_the_backoff():
    retry = chain(Retry(10, backoff_factor=1), 3)
    assert retry_delay(retry, 0.0) == 4.0


def test_retry_delay_ignores_retry_after_when_not_respected():
    retry = chain(Retry(10, backoff_factor=1, respect_retry_after_header=False), 3)
    assert retry_delay(retry, 7.0) == 4.0


def test_retry_delay_caps_retry_after():
    assert retry_delay(Retry(retry_after_max=5), 50.0) == 5.0


def test_retry_delay_on_a_urllib3_retry():
    retry = chain(U3Retry(10, backoff_factor=1), 3)
    assert retry_delay(retry, None) == 4.0
    assert retry_delay(retry, 2.0) == 2.0


# --- as_retry ----------------------------------------------------------------------


def test_as_retry_none_is_the_default():
    default = Retry(4)
    assert as_retry(None, default) is default
    assert as_retry(None, None) is None


def test_as_retry_false_is_no_retries():
    assert as_retry(False, Retry(4)) is None


def test_as_retry_true_is_the_default_retry():
    assert as_retry(True, None) is Retry.DEFAULT


@pytest.mark.parametrize("value", [0, 3])
def test_as_retry_int_is_from_int(value):
    retry = as_retry(value, None)
    assert isinstance(retry, Retry)
    assert repr(retry) == repr(Retry.from_int(value))


@pytest.mark.parametrize("make", [Retry, U3Retry], ids=["requestx", "urllib3"])
def test_as_retry_passes_a_retry_through(make):
    retry = make(2)
    assert as_retry(retry, None) is retry


@pytest.mark.parametrize("value", ["3", 2.5, object(), [3]])
def test_as_retry_rejects_other_values(value):
    with pytest.raises(TypeError, match="retries must be"):
        as_retry(value, None)


# --- the module itself -----------------------------------------------------------


def test_module_never_imports_urllib3():
    tree = ast.parse(Path(retry_module.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert imported  # the walk did see the imports
    assert not any(name.split(".")[0] == "urllib3" for name in imported)
