"""The loop around one hop: deadline -> retries -> per attempt the breaker,
the engine, the classification of what came back.

``Attempts`` is the loop's state and every decision in it, with no I/O: the
sync and the async drivers below (and the transports') only run the hop,
sleep and ask it what next. One call of ``begin()`` per attempt, then
exactly one of ``failed(exc)`` or ``answered(response)``:

    begin()        the deadline's remaining seconds (0: none); the breaker's
                   permit for this attempt (CircuitOpenError when open)
    failed(exc)    the breaker records a transport failure; the seconds to
                   wait before the next attempt, or the exception re-raised
                   when it may not be retried (or the budget is spent)
    answered(r)    the breaker records the status; None: the response is the
                   call's; else the seconds to wait (a status to retry)

How a failure counts: by the engine's CURLcode and phase, never by message
text. Before the request went out (the connect phase: DNS, refused, connect
timeout, TLS handshake, proxy) it is a *connect* error, retried for any
method; after, a *read* error, retried only for an idempotent method (or a
request carrying an Idempotency-Key); certificate and configuration errors,
bad URLs and the like never. Before each new attempt the body is replayed:
bytes as they are, a file rewound to where it started, anything else
raises UnrewindableBodyError.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Optional

from .. import _engine
from .._body import rewind
from .._url import redact_url
from ..exceptions import DeadlineExceeded, RetryError, UnrewindableBodyError
from .deadline import Deadline
from .retry import Failure, next_retry, retry_after_seconds, retry_delay, status_retry

__all__ = ["Attempts", "failure_kind", "run_async", "run_sync"]

# Retries at INFO, breaker transitions at WARNING (to open) or INFO.
logger = logging.getLogger("requestx")

_STATE_VALUES = {"closed": 0, "open": 1, "half_open": 2}

# How the drivers wait between attempts (tests replace them to keep time out
# of the suite): the sync one releases the GIL, the async one lets the loop run.
sleep = time.sleep
async_sleep = asyncio.sleep

# Deterministic failures: another attempt would fail the same way.
_NEVER_RETRIED = frozenset(
    {
        _engine.CURLE_UNSUPPORTED_PROTOCOL,
        _engine.CURLE_URL_MALFORMAT,
        _engine.CURLE_PEER_FAILED_VERIFICATION,
        _engine.CURLE_SSL_CERTPROBLEM,
        _engine.CURLE_SSL_CACERT_BADFILE,
        _engine.CURLE_SSL_ISSUER_ERROR,
        _engine.CURLE_SSL_CLIENTCERT,
        _engine.CURLE_SSL_CRL_BADFILE,
        _engine.CURLE_SSL_ENGINE_NOTFOUND,
        _engine.CURLE_SSL_CIPHER,
        _engine.CURLE_BAD_CONTENT_ENCODING,
        _engine.CURLE_TOO_MANY_REDIRECTS,
    }
)


def failure_kind(exc: BaseException) -> Optional[str]:
    """How the retry budget counts ``exc``: "connect", "read", or None (never
    retried: not an engine failure, or a deterministic one)."""
    code = getattr(exc, "curl_code", None)  # requests' and the transports' exceptions
    if code is None or code in _NEVER_RETRIED:
        return None
    return "connect" if getattr(exc, "phase", None) == _engine.PHASE_CONNECT else "read"


class Attempts:
    """The retry and breaker state of one hop (see the module docstring)."""

    __slots__ = (
        "retry",
        "breaker",
        "deadline",
        "prep",
        "url",
        "count",
        "watch",
        "stats",
        "_track",
        "_permit",
        "_close",
    )

    def __init__(
        self,
        prep: Any,
        retry: Any,
        breaker: Any,
        deadline: Optional[Deadline],
        close: Optional[Callable[[Any], None]] = None,
        watch: Any = None,
        stats: Any = None,
    ) -> None:
        self.prep = prep
        self._close = close or _close
        self.url = prep.url
        self.retry = retry
        self.breaker = breaker
        self.deadline = deadline
        self.count = 0  # attempts begun
        self.watch = watch  # the call's observe.Watch, or None
        self.stats = stats  # the session's _engine.Stats, or None
        # whether breaker transitions are looked for (someone hears of them)
        self._track = breaker is not None and (
            watch is not None or stats is not None or logger.isEnabledFor(logging.INFO)
        )
        self._permit: Any = None

    def begin(self) -> float:
        remaining = self.deadline.remaining() if self.deadline is not None else 0.0
        self.count += 1
        breaker = self.breaker
        if breaker is not None:
            if not self._track:
                self._permit = breaker.before(self.url)
                return remaining
            key = breaker._resolve(self.url)
            old = breaker._raw_state(key)
            try:
                self._permit = breaker.before(self.url)
            finally:
                self._moved(key, old)
        return remaining

    def _moved(self, key: str, old: str) -> None:
        """Tell of a transition of ``key``'s circuit since it was ``old``."""
        new = self.breaker._raw_state(key)
        if new == old:
            return
        logger.log(
            logging.WARNING if new == "open" else logging.INFO,
            "circuit %s: %s -> %s",
            key,
            old,
            new,
        )
        stats = self.stats
        if stats is not None:
            stats.count(_engine.STAT_TRANSITION, key, new, 1)
            stats.count(_engine.STAT_STATE, key, "", _STATE_VALUES.get(new, 0))
        if self.watch is not None:
            self.watch.breaker(key, old, new)

    def _settle(self, failed: Optional[bool]) -> None:
        permit, self._permit = self._permit, None
        if permit is not None:
            old = self.breaker._raw_state(permit.key) if self._track else ""
            if failed is None:
                self.breaker.released(permit)
            elif failed:
                self.breaker.failed(permit)
            else:
                self.breaker.succeeded(permit)
            if self._track:
                self._moved(permit.key, old)

    def _retrying(self, delay: float, reason: str) -> float:
        """A retry was decided: tell the log, the statistics and observers."""
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "retrying %s %s in %.3g s (%s, attempt %d)",
                self.prep.method,
                redact_url(self.url, query=False),
                delay,
                reason,
                self.count + 1,
            )
        if self.stats is not None:
            self.stats.count(_engine.STAT_RETRY, self.url, reason, 1)
        if self.watch is not None:
            self.watch.retry(delay, reason)
        return delay

    def failed(self, exc: BaseException) -> float:
        """The wait before the next attempt; ``exc`` re-raised when final."""
        engine_failure = getattr(exc, "curl_code", None) is not None
        kind = failure_kind(exc)
        # a failure of the exchange counts against the origin; a cancellation,
        # an error raised before anything was sent, or a deterministic one
        # (a certificate, a bad URL) does not
        if self._permit is not None:
            self._settle(self.breaker.is_failure_outcome(error=exc) if kind else None)
        deadline = self.deadline
        # libcurl's whole-transfer limit (the deadline's remaining seconds,
        # rounded to ms) may fire a moment before the deadline itself
        if engine_failure and deadline is not None and deadline.at - time.monotonic() < 0.005:
            raise DeadlineExceeded(
                f"the call took longer than its total timeout ({deadline.total} s)",
                request=self.prep,
            ) from exc
        if kind is None or self.retry is None:
            raise exc
        following = next_retry(
            self.retry,
            self.prep.method,
            Failure(kind, error=exc, url=self.url),
            # a POST carrying an Idempotency-Key may be sent again (Go's rule)
            idempotent=kind == "read" and "Idempotency-Key" in self.prep.headers,
        )
        if following is None:
            exc.retries = self.retry  # type: ignore[attr-defined]
            raise exc
        self.retry = following
        delay = self._before_next(retry_delay(following, None))
        return self._retrying(delay, getattr(exc, "error_type", None) or type(exc).__name__)

    def answered(self, response: Any) -> Optional[float]:
        """None: ``response`` ends the hop; else the wait before the next attempt."""
        permit = self._permit
        if permit is not None:
            self._permit = None
            breaker = self.breaker
            old = breaker._raw_state(permit.key) if self._track else ""
            if breaker.is_failure_outcome(response=response):
                breaker.failed(permit)
            else:
                breaker.succeeded(permit)
            if self._track:
                self._moved(permit.key, old)
        retry = self.retry
        if self.count > 1:
            response.attempts = self.count
        if retry is None:
            return None
        status = response.status_code
        forced = retry.status_forcelist
        if status < 400 and not (forced and status in forced):
            if retry.history:  # the common case: no header parsed
                response.retries = retry
            return None
        header = response.headers.get("Retry-After")
        if not status_retry(retry, self.prep.method, status, header):
            self._done(response)
            return None
        following = next_retry(
            retry, self.prep.method, Failure("status", status=status, url=self.url)
        )
        if following is None:
            if retry.raise_on_status:
                self._close(response)
                raise RetryError(
                    f"Max retries exceeded with url: {self.url} "
                    f"(too many {status} error responses)",
                    response=response,
                    request=self.prep,
                )
            self._done(response)
            return None
        self.retry = following
        self._close(response)
        delay = self._before_next(retry_delay(following, retry_after_seconds(following, header)))
        return self._retrying(delay, f"status_{status}")

    def _done(self, response: Any) -> None:
        """The response ends the hop: it carries the Retry that got it, once a
        retry happened (``Response.retries`` is None otherwise)."""
        if self.retry.history:
            response.retries = self.retry

    def _before_next(self, delay: float) -> float:
        deadline = self.deadline
        if deadline is not None and delay >= deadline.remaining():
            raise DeadlineExceeded(
                f"the call would outlast its total timeout ({deadline.total} s) "
                f"waiting {delay:.3g} s to retry"
            )
        replay(self.prep)
        return delay


def _close(response: Any) -> None:
    response.close()


def replay(prep: Any) -> None:
    """Make ``prep``'s body ready to be sent again."""
    body = prep.body
    if body is None or isinstance(body, (bytes, str, bytearray, memoryview)):
        return
    if hasattr(body, "seek") and isinstance(prep._body_position, int):
        rewind(prep)
        return
    raise UnrewindableBodyError(
        "the request body is an iterator that may be partly sent: it cannot be "
        "replayed for a retry (pass bytes or a file)"
    )


def run_sync(attempts: Attempts, hop: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Run ``hop(*args, None, total_seconds)`` until ``attempts`` is satisfied
    (None: the hop runs under no policy of its own)."""
    while True:
        total = attempts.begin()
        try:
            response = hop(*args, None, total)
        except BaseException as exc:
            delay = attempts.failed(exc)
        else:
            wait = attempts.answered(response)
            if wait is None:
                return response
            delay = wait
        if delay > 0:
            sleep(delay)


async def run_async(
    attempts: Attempts,
    hop: Callable[..., Awaitable[Any]],
    args: tuple[Any, ...],
    sleeper: Optional[Callable[[float], Awaitable[Any]]] = None,
) -> Any:
    """``run_sync`` for a coroutine hop; the waits let the loop run
    (``sleeper``: another event loop's sleep, trio's for the transports)."""
    while True:
        total = attempts.begin()
        try:
            response = await hop(*args, None, total)
        except BaseException as exc:
            delay = attempts.failed(exc)
        else:
            wait = attempts.answered(response)
            if wait is None:
                return response
            delay = wait
        if delay > 0:
            await (sleeper or async_sleep)(delay)
