"""Retry (urllib3's, with the same names and defaults) and the decisions the
retry loop asks of it.

``Retry`` takes urllib3 2.x's constructor, defaults and public methods, so
``Retry(total=5, backoff_factor=0.3, status_forcelist=[502, 503])`` means what
it means to requests users. The loop never calls ``increment``: it classifies
each failure itself and asks the functions at the bottom of this module, which
read a Retry by attribute name and build the next one with ``retry.new(...)``.
A real ``urllib3.util.Retry`` is therefore accepted wherever a requestx one is
(this module never imports urllib3).

The semantics, as urllib3 counts them:

- A failure before anything was sent (DNS, refused, connect timeout, a proxy
  or TLS handshake failure) is a *connect* error and is retried for any
  method. One after the request was sent (read timeout, connection dropped,
  body cut short) is a *read* error, retried only for ``allowed_methods``
  (HEAD GET PUT DELETE OPTIONS TRACE; ``None`` means any) or a request the
  caller marks idempotent (it carries an ``Idempotency-Key``).
- A response is retried when its status is in ``status_forcelist``, or when
  it is a 413, 429 or 503 with a valid Retry-After, ``total`` is truthy and
  ``respect_retry_after_header`` is set; both only for an allowed method.
- Every failure costs one from ``total`` and one from its own counter; the
  budget is spent when any counter goes below zero. ``Retry(0)`` never
  retries; ``Retry(0, read=False)`` is requests' default (no retries, and a
  read error is raised as it is); ``total=False`` turns retries off.
- The delay before a retry is the Retry-After (when respected and positive,
  capped at ``retry_after_max``), else the backoff: urllib3's exponential
  ``backoff_factor * 2 ** (n - 1)`` over the ``n`` consecutive errors since
  the last redirect, nothing for the first, plus ``random() * backoff_jitter``,
  capped at ``backoff_max``. The keyword-only ``backoff`` adds AWS's full
  and decorrelated jitter, or a callable.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from itertools import takewhile
from typing import Any, ClassVar, NamedTuple, Optional, Protocol, Union, cast

from ..exceptions import InvalidHeader

__all__ = [
    "Failure",
    "RequestHistory",
    "Retry",
    "RetryLike",
    "as_retry",
    "next_retry",
    "retry_after_seconds",
    "retry_delay",
    "status_retry",
]

# The source of every random draw; tests seed it (``retry._random.seed(n)``).
_random = random.Random()

_INTEGER_SECONDS = re.compile(r"\s*[0-9]+\s*")
_STRATEGIES = frozenset(("exponential", "full_jitter", "decorrelated"))
_KINDS = frozenset(("connect", "read", "other", "status", "redirect"))

Backoff = Union[str, Callable[["Retry"], float]]


class RequestHistory(NamedTuple):
    """One counted failure of a request, as urllib3 records it."""

    method: Optional[str]
    url: Optional[str]
    error: Optional[BaseException]
    status: Optional[int]
    redirect_location: Optional[str]


class RetryLike(Protocol):
    """What the loop reads of a Retry: a requestx one or urllib3's."""

    @property
    def total(self) -> Union[bool, int, None]: ...
    @property
    def connect(self) -> Union[bool, int, None]: ...
    @property
    def read(self) -> Union[bool, int, None]: ...
    @property
    def redirect(self) -> Union[bool, int, None]: ...
    @property
    def status(self) -> Union[bool, int, None]: ...
    @property
    def other(self) -> Union[bool, int, None]: ...
    @property
    def allowed_methods(self) -> Optional[Collection[str]]: ...
    @property
    def history(self) -> tuple[Any, ...]: ...
    @property
    def respect_retry_after_header(self) -> bool: ...
    @property
    def retry_after_max(self) -> float: ...

    def new(self, **kw: Any) -> RetryLike: ...
    def get_backoff_time(self) -> float: ...
    def is_exhausted(self) -> bool: ...
    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool: ...


def _parse_retry_after(value: str, cap: float, now: Optional[float]) -> Optional[float]:
    """Seconds to wait from a Retry-After value, or None when it is invalid.

    Integer seconds or an HTTP date (one without a zone, as asctime's, is
    UTC); a negative wait is 0; the wait is capped at ``cap``."""
    if _INTEGER_SECONDS.fullmatch(value):
        seconds = float(int(value))
    else:
        import email.utils  # email is a large import; dates are rare here

        try:
            parsed = email.utils.parsedate_tz(value)
            if parsed is None:
                return None
            moment = email.utils.mktime_tz(parsed)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = moment - (time.time() if now is None else now)
    return float(min(max(seconds, 0.0), cap))


def _consecutive_errors(history: tuple[Any, ...]) -> int:
    """Failures since the last redirect: what the backoff grows with."""
    return sum(1 for _ in takewhile(lambda h: h.redirect_location is None, reversed(history)))


class Retry:
    """How many times, for which failures, and how long to wait between.

    The constructor, defaults and methods are urllib3 2.x's ``Retry``; see the
    module docstring for the rules. ``backoff`` (keyword-only) picks the
    delay formula: ``"exponential"`` (urllib3's), ``"full_jitter"``
    (uniform in [0, the exponential value]), ``"decorrelated"`` (AWS's
    ``min(backoff_max, uniform(backoff_factor, previous * 3))``, its state kept
    on this request's chain of Retry objects), or a callable taking the Retry
    and returning seconds (clamped to [0, backoff_max]). Only
    ``"exponential"`` adds ``backoff_jitter``; every built-in strategy waits
    nothing before the first retry of a run of errors, as urllib3 does.
    """

    DEFAULT_ALLOWED_METHODS: ClassVar[frozenset[str]] = frozenset(
        ["HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE"]
    )
    RETRY_AFTER_STATUS_CODES: ClassVar[frozenset[int]] = frozenset([413, 429, 503])
    DEFAULT_REMOVE_HEADERS_ON_REDIRECT: ClassVar[frozenset[str]] = frozenset(
        ["Cookie", "Authorization", "Proxy-Authorization"]
    )
    DEFAULT_BACKOFF_MAX: ClassVar[int] = 120
    DEFAULT_RETRY_AFTER_MAX: ClassVar[int] = 21600
    DEFAULT: ClassVar[Retry]

    def __init__(
        self,
        total: Union[bool, int, None] = 10,
        connect: Union[bool, int, None] = None,
        read: Union[bool, int, None] = None,
        redirect: Union[bool, int, None] = None,
        status: Union[bool, int, None] = None,
        other: Union[bool, int, None] = None,
        allowed_methods: Optional[Collection[str]] = DEFAULT_ALLOWED_METHODS,
        status_forcelist: Optional[Collection[int]] = None,
        backoff_factor: float = 0,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
        raise_on_redirect: bool = True,
        raise_on_status: bool = True,
        history: Optional[tuple[RequestHistory, ...]] = None,
        respect_retry_after_header: bool = True,
        remove_headers_on_redirect: Collection[str] = DEFAULT_REMOVE_HEADERS_ON_REDIRECT,
        backoff_jitter: float = 0.0,
        retry_after_max: float = DEFAULT_RETRY_AFTER_MAX,
        *,
        backoff: Backoff = "exponential",
    ) -> None:
        if isinstance(backoff, str):
            if backoff not in _STRATEGIES:
                raise ValueError(
                    f"backoff must be one of {', '.join(sorted(_STRATEGIES))} or a callable, "
                    f"not {backoff!r}"
                )
        elif not callable(backoff):
            raise TypeError(f"backoff must be a str or a callable, not {type(backoff).__name__}")
        if redirect is False or total is False:
            redirect = 0
            raise_on_redirect = False
        self.total = total
        self.connect = connect
        self.read = read
        self.redirect = redirect
        self.status = status
        self.other = other
        self.allowed_methods = allowed_methods
        self.status_forcelist: Collection[int] = status_forcelist or frozenset()
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.raise_on_redirect = raise_on_redirect
        self.raise_on_status = raise_on_status
        self.history: tuple[RequestHistory, ...] = tuple(history or ())
        self.respect_retry_after_header = respect_retry_after_header
        self.remove_headers_on_redirect = frozenset(h.lower() for h in remove_headers_on_redirect)
        self.backoff_jitter = backoff_jitter
        self.retry_after_max = retry_after_max
        self.backoff = backoff
        # Decorrelated jitter: the previous delay of this request's chain
        # (handed on by new()), and the delay drawn for this step.
        self._previous_delay: Optional[float] = None
        self._delay: Optional[float] = None

    def new(self, **kw: Any) -> Retry:
        """A copy with the given constructor arguments replaced."""
        params: dict[str, Any] = {
            "total": self.total,
            "connect": self.connect,
            "read": self.read,
            "redirect": self.redirect,
            "status": self.status,
            "other": self.other,
            "allowed_methods": self.allowed_methods,
            "status_forcelist": self.status_forcelist,
            "backoff_factor": self.backoff_factor,
            "backoff_max": self.backoff_max,
            "raise_on_redirect": self.raise_on_redirect,
            "raise_on_status": self.raise_on_status,
            "history": self.history,
            "respect_retry_after_header": self.respect_retry_after_header,
            "remove_headers_on_redirect": self.remove_headers_on_redirect,
            "backoff_jitter": self.backoff_jitter,
            "retry_after_max": self.retry_after_max,
            "backoff": self.backoff,
        }
        params.update(kw)
        retry = type(self)(**params)
        retry._previous_delay = self._delay if self._delay is not None else self._previous_delay
        return retry

    @classmethod
    def from_int(
        cls,
        retries: Union[RetryLike, bool, int, None],
        redirect: Union[bool, int, None] = True,
        default: Union[RetryLike, bool, int, None] = None,
    ) -> Retry:
        """urllib3's conversion: None is ``default`` (else ``DEFAULT``), a
        Retry (requestx's or urllib3's) is itself, a number is
        ``cls(retries)`` with redirects counted by ``total`` (or off when
        ``redirect`` is false)."""
        if retries is None:
            retries = default if default is not None else cls.DEFAULT
        if _is_retry_like(retries):
            return cast(Retry, retries)
        return cls(cast(Union[bool, int], retries), redirect=bool(redirect) and None)

    def get_backoff_time(self) -> float:
        """Seconds to wait before the next attempt, by ``backoff``."""
        if callable(self.backoff):
            return float(max(0.0, min(self.backoff_max, float(self.backoff(self)))))
        errors = _consecutive_errors(self.history)
        if errors <= 1:
            return 0.0
        # 2.0 ** 1000 is finite, so a long history caps instead of overflowing.
        exponential = self.backoff_factor * 2.0 ** min(errors - 1, 1000)
        if self.backoff == "exponential":
            if self.backoff_jitter != 0.0:
                exponential += _random.random() * self.backoff_jitter
            return float(max(0.0, min(self.backoff_max, exponential)))
        if self.backoff == "full_jitter":
            return _random.uniform(0.0, max(0.0, min(self.backoff_max, exponential)))
        if self._delay is None:
            base = float(self.backoff_factor)
            previous = self._previous_delay
            if errors == 2 or previous is None:
                previous = base
            self._delay = max(0.0, min(self.backoff_max, _random.uniform(base, previous * 3)))
        return self._delay

    def parse_retry_after(self, retry_after: str, now: Optional[float] = None) -> float:
        """Seconds from a Retry-After value: integer seconds or an HTTP date,
        0 when negative, at most ``retry_after_max``; anything else raises
        InvalidHeader. ``now`` (a ``time.time()`` value) is for tests."""
        seconds = _parse_retry_after(retry_after, self.retry_after_max, now)
        if seconds is None:
            raise InvalidHeader(f"Invalid Retry-After header: {retry_after}")
        return seconds

    def get_retry_after(self, response: Any, now: Optional[float] = None) -> Optional[float]:
        """The response's Retry-After in seconds; None when absent or invalid."""
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        return _parse_retry_after(value, self.retry_after_max, now)

    def _is_method_retryable(self, method: str) -> bool:
        return _method_allowed(self, method)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        """Whether a response of ``method`` with ``status_code`` asks for a retry."""
        if not _method_allowed(self, method):
            return False
        if self.status_forcelist and status_code in self.status_forcelist:
            return True
        return bool(
            self.total
            and self.respect_retry_after_header
            and has_retry_after
            and status_code in self.RETRY_AFTER_STATUS_CODES
        )

    def is_exhausted(self) -> bool:
        """Whether a counter went below zero (counters at 0 or off are ignored)."""
        counts = [
            count
            for count in (
                self.total,
                self.connect,
                self.read,
                self.redirect,
                self.status,
                self.other,
            )
            if count
        ]
        return bool(counts) and min(counts) < 0

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(total={self.total}, connect={self.connect}, "
            f"read={self.read}, redirect={self.redirect}, status={self.status})"
        )


Retry.DEFAULT = Retry(3)


@dataclass(frozen=True)
class Failure:
    """One failed attempt, as the loop classified it.

    ``kind``: ``"connect"`` (nothing was sent), ``"read"`` (the request was
    sent), ``"other"``, ``"status"`` (a response whose status asks for a
    retry) or ``"redirect"``."""

    kind: str
    status: Optional[int] = None
    error: Optional[BaseException] = None
    url: Optional[str] = None
    redirect_location: Optional[str] = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(
                f"Failure kind must be one of {', '.join(sorted(_KINDS))}, not {self.kind!r}"
            )


def _is_retry_like(value: object) -> bool:
    return hasattr(value, "get_backoff_time") and hasattr(value, "new")


def _method_allowed(retry: RetryLike, method: Optional[str]) -> bool:
    methods = retry.allowed_methods
    if not methods:  # None (and, as in urllib3 2.x, an empty collection): any method
        return True
    return method is not None and method.upper() in methods


def _minus_one(count: Union[bool, int, None]) -> Union[bool, int, None]:
    return None if count is None else count - 1


def as_retry(value: object, default: Optional[RetryLike]) -> Optional[RetryLike]:
    """The Retry to use for a ``retries=`` value, or None for no retries at all.

    None is ``default``; False is None; True is ``Retry.DEFAULT``; an int is
    ``Retry.from_int(value)``; a Retry (requestx's or urllib3's) is itself."""
    if value is None:
        return default
    if value is False:
        return None
    if value is True:
        return Retry.DEFAULT
    if isinstance(value, int):
        return Retry.from_int(value)
    if _is_retry_like(value):
        return cast(RetryLike, value)
    raise TypeError(
        "retries must be None, a bool, an int or a Retry (an object with get_backoff_time "
        f"and new), not {type(value).__name__}"
    )


def next_retry(
    retry: RetryLike, method: Optional[str], failure: Failure, *, idempotent: bool = False
) -> Optional[RetryLike]:
    """The Retry after counting ``failure``, or None when it may not be retried.

    Counts as urllib3's ``increment``: one off ``total``, one off the failure's
    own counter, the failure appended to ``history``; None when the new Retry
    is exhausted. A read error is retried only for an allowed method, or when
    ``idempotent`` (the request carries an Idempotency-Key); a status only for
    an allowed method; ``connect=False`` / ``read=False`` refuse their kind."""
    if retry.total is False:
        return None
    connect, read, redirect, status, other = (
        retry.connect,
        retry.read,
        retry.redirect,
        retry.status,
        retry.other,
    )
    kind = failure.kind
    if kind == "connect":
        if connect is False:
            return None
        connect = _minus_one(connect)
    elif kind == "read":
        if read is False or method is None:
            return None
        if not idempotent and not _method_allowed(retry, method):
            return None
        read = _minus_one(read)
    elif kind == "other":
        other = _minus_one(other)
    elif kind == "redirect":
        redirect = _minus_one(redirect)
    else:
        if not _method_allowed(retry, method):
            return None
        if failure.status:
            status = _minus_one(status)
    entry = RequestHistory(
        method, failure.url, failure.error, failure.status, failure.redirect_location
    )
    following = retry.new(
        total=_minus_one(retry.total),
        connect=connect,
        read=read,
        redirect=redirect,
        status=status,
        other=other,
        history=(*retry.history, entry),
    )
    if following.is_exhausted():
        return None
    return following


def retry_after_seconds(
    retry: RetryLike, value: Optional[str], now: Optional[float] = None
) -> Optional[float]:
    """A Retry-After header value in seconds (capped at ``retry_after_max``),
    or None when it is absent or invalid. Works on urllib3's Retry too."""
    if value is None:
        return None
    return _parse_retry_after(value, retry.retry_after_max, now)


def retry_delay(retry: RetryLike, retry_after: Optional[float]) -> float:
    """Seconds to sleep before the next attempt: a positive Retry-After when
    the Retry respects it, else ``retry.get_backoff_time()``."""
    if retry.respect_retry_after_header and retry_after:
        return float(min(max(retry_after, 0.0), retry.retry_after_max))
    return float(retry.get_backoff_time())


def status_retry(
    retry: RetryLike, method: str, status: int, retry_after_header: Optional[str]
) -> bool:
    """Whether a response asks for a retry: ``retry.is_retry`` with
    ``has_retry_after`` true only for a valid Retry-After value."""
    has_retry_after = retry_after_seconds(retry, retry_after_header) is not None
    return bool(retry.is_retry(method, status, has_retry_after))
