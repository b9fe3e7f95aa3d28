"""CircuitBreaker: one circuit per origin, consulted once per attempt.

A circuit follows three states::

                 failure_threshold consecutive failures
      +--------+ ------------------------------------> +------+
      | closed |                                       | open | <----------+
      +--------+ <--+                                  +------+            |
                    |                                     |                |
                    | success_threshold                   | the open time  | a probe fails:
                    | probe successes                     | has passed     | open time x2,
                    |                                     v                | jittered, capped
                    |                              +-----------+           |
                    +----------------------------- | half_open | ----------+
                                                   +-----------+
                                            at most half_open_max_calls
                                            probes in flight at once

Closed: attempts go through; consecutive failures are counted and a success
resets the count. Open: every attempt is refused at once with
CircuitOpenError (``state="open"``, ``retry_after`` = seconds until
half-open) and nothing touches the network. Half-open: ``half_open_max_calls``
attempts at a time go through as probes; callers beyond them are refused
(``state="half_open"``). Closing resets the open time to ``recovery_timeout``;
each probe failure doubles it, times a jitter factor in [0.9, 1.1], up to
``max_recovery_timeout``.

What counts as a failure (:meth:`CircuitBreaker.is_failure_outcome`): an
exception raised by the transfer, or a response whose status is in
``failure_statuses`` (5xx only; the default is 500, 502, 503, 504). Never a
4xx (429 is the server's flow control, handled by Retry-After), a
cancellation, or an error raised before anything was sent: the caller
reports those with ``released()``. ``is_failure(response, error)`` overrides
the rule whenever it returns a bool.

The per-attempt contract (the retry loop's side)::

    permit = breaker.before(url)      # CircuitOpenError, or a Permit
    ... the attempt: I/O, no breaker lock held ...
    breaker.succeeded(permit)         # exactly one of these three
    breaker.failed(permit)
    breaker.released(permit)          # neither: cancelled, or never sent

Every change is made under the breaker's one ``threading.Lock``, held for a
few dict and attribute operations and never across I/O or a listener, so one
breaker is safe to share between threads, between a Session and an
AsyncSession (coroutines call the same methods; none of them waits on
anything but that short lock) and between transports. A second report on
the same permit is ignored, so a probe slot is never given back twice.

The closed path: ``before()`` for a circuit that is closed, and
``succeeded()`` for a circuit that holds no failures, read the circuits'
dict without the lock (a dict lookup is atomic) and change nothing. A
lookup racing with another thread's failure is the same as the attempt
starting (or ending) just before it, so a healthy origin costs an attempt
two dict lookups and no lock.

Keys: ``origin_key(url)`` (``scheme://host:port``, lowercase, default port
filled, IPv6 hosts bracketed) unless ``key=`` names another function of the
URL. Only circuits that hold news are stored: a closed circuit with no
failures is dropped, so a breaker shared by a crawler does not grow with
every host it ever reached.

Listeners ``(key, old_state, new_state)`` are called after each transition,
outside the lock, in the order the transitions happened: while one thread is
calling them, transitions made by other threads (or by a listener) are
queued and delivered by that thread. A listener that raises is logged on the
"requestx.breaker" logger and the others still run.
"""

from __future__ import annotations

import collections
import functools
import logging
import math
import random
import re
import threading
import time
from typing import Any, Callable, Iterable, Literal, Optional, TypedDict, Union
from urllib.parse import urlsplit

from ..exceptions import CircuitOpenError

__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "OPEN",
    "CircuitBreaker",
    "CircuitSnapshot",
    "CircuitState",
    "Permit",
    "jitter_random",
    "origin_key",
]

CircuitState = Literal["closed", "open", "half_open"]
CLOSED: CircuitState = "closed"
OPEN: CircuitState = "open"
HALF_OPEN: CircuitState = "half_open"

Listener = Callable[[str, CircuitState, CircuitState], object]
FailurePredicate = Callable[[Any, Optional[BaseException]], Optional[bool]]

logger = logging.getLogger("requestx.breaker")

# The source of the re-open jitter; seed it (jitter_random.seed(n)) for
# repeatable open times.
jitter_random = random.Random()
JITTER = (0.9, 1.1)

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


# scheme://authority at the start of a URL (RFC 3986 scheme characters).
_ORIGIN_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")


def origin_key(url: str) -> str:
    """``scheme://host:port`` of a URL: lowercase, the scheme's default port
    filled in (http and ws 80, https and wss 443), an IPv6 host in brackets,
    userinfo, path, query and fragment dropped. A scheme without a known
    default port and no explicit port gives ``scheme://host``."""
    # Once per attempt: a regex match and a cache hit cost a tenth of urlsplit().
    match = _ORIGIN_PREFIX.match(url)
    if match is None:
        parts = urlsplit(url)
        prefix = f"{parts.scheme}://{parts.netloc}"
    else:
        prefix = match.group()
    if "@" in prefix:  # userinfo: keep credentials out of the cache
        scheme, _, authority = prefix.partition("://")
        prefix = f"{scheme}://{authority.rpartition('@')[2]}"
    return _origin(prefix)


@functools.lru_cache(maxsize=1024)
def _origin(prefix: str) -> str:
    scheme, _, hostport = prefix.lower().partition("://")
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            host, port = hostport, ""
        else:
            host, port = hostport[: end + 1], hostport[end + 1 :].removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    if port.isdigit() and port.isascii():
        port = str(int(port))
    elif not port and scheme in DEFAULT_PORTS:
        port = str(DEFAULT_PORTS[scheme])
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


class Permit:
    """What ``before()`` hands out for one attempt: the circuit's ``key`` and
    whether the attempt is a half-open ``probe``. Give it back to exactly one
    of ``succeeded()``, ``failed()`` or ``released()``."""

    __slots__ = ("_epoch", "_settled", "key", "probe")

    def __init__(self, key: str, probe: bool, epoch: int) -> None:
        self.key = key
        self.probe = probe
        self._epoch = epoch  # which half-open period a probe belongs to
        self._settled = False

    def __repr__(self) -> str:
        return f"<Permit {self.key} probe={self.probe}>"


class CircuitSnapshot(TypedDict):
    """One circuit in ``CircuitBreaker.snapshot()``; ``open_until`` is on the
    breaker's clock, None unless open."""

    state: CircuitState
    failures: int  # consecutive, counted while closed (those that opened it)
    open_until: Optional[float]
    probes_in_flight: int


class _Circuit:
    __slots__ = ("epoch", "failures", "open_time", "open_until", "probes", "state", "successes")

    def __init__(self, recovery_timeout: float) -> None:
        self.state: CircuitState = CLOSED
        self.failures = 0  # consecutive, while closed
        self.open_time = recovery_timeout  # the next open period, before jitter
        self.open_until = 0.0
        self.probes = 0  # in flight, while half-open
        self.successes = 0  # probe successes, while half-open
        self.epoch = 0


Transition = tuple[str, CircuitState, CircuitState]


class CircuitBreaker:
    """Per-origin circuit breakers for ``Session(breaker=)``, ``AsyncSession``,
    the transports and per-request ``breaker=``; see the module docstring for
    the states and the per-attempt contract."""

    def __init__(
        self,
        failure_threshold: int = 5,
        recovery_timeout: float = 30.0,
        max_recovery_timeout: float = 300.0,
        half_open_max_calls: int = 1,
        success_threshold: int = 1,
        failure_statuses: Iterable[int] = frozenset({500, 502, 503, 504}),
        is_failure: Optional[FailurePredicate] = None,
        key: Optional[Callable[[str], str]] = None,
        listeners: Iterable[Listener] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, count in (
            ("failure_threshold", failure_threshold),
            ("half_open_max_calls", half_open_max_calls),
            ("success_threshold", success_threshold),
        ):
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(f"{name} must be an int >= 1, not {count!r}")
        if not 0 <= recovery_timeout <= max_recovery_timeout:
            raise ValueError(
                "0 <= recovery_timeout <= max_recovery_timeout is required, "
                f"not {recovery_timeout!r} and {max_recovery_timeout!r}"
            )
        statuses = frozenset(failure_statuses)
        if any(not 500 <= status <= 599 for status in statuses):
            raise ValueError(
                f"failure_statuses are 5xx statuses, not {sorted(statuses)!r}; "
                "classify other responses with is_failure"
            )
        self.failure_threshold = failure_threshold
        self.recovery_timeout = float(recovery_timeout)
        self.max_recovery_timeout = float(max_recovery_timeout)
        self.half_open_max_calls = half_open_max_calls
        self.success_threshold = success_threshold
        self.failure_statuses = statuses
        self.is_failure = is_failure
        self.key = key
        self.listeners = tuple(listeners)
        self.clock = clock
        self._setup()

    def _setup(self) -> None:
        self._key_of = self.key or origin_key
        # the keys of URLs seen, so that an attempt on a known URL costs a
        # dict lookup (emptied when full; only for the default key function)
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()
        self._circuits: dict[str, _Circuit] = {}
        self._epochs = 0
        self._transitions: collections.deque[Transition] = collections.deque()
        self._notifying = False

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(failure_threshold={self.failure_threshold}, "
            f"recovery_timeout={self.recovery_timeout}, circuits={len(self._circuits)})"
        )

    def __getstate__(self) -> dict[str, Any]:
        # The configuration travels; the circuits (and the lock) do not.
        return {name: getattr(self, name) for name in _CONFIGURATION}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._setup()

    # The per-attempt contract

    def before(self, url: str) -> Permit:
        """A permit for one attempt at ``url``, or CircuitOpenError."""
        key = self._keys.get(url)
        if key is None:
            key = self._key_of(url)
            if self.key is None and "@" not in url:  # credentials stay out of it
                if len(self._keys) >= 1024:
                    self._keys.clear()
                self._keys[url] = key
        circuit = self._circuits.get(key)  # see "The closed path" above
        if circuit is None or circuit.state == CLOSED:
            return Permit(key, False, 0)
        with self._lock:
            circuit = self._circuits.get(key)
            if circuit is None or circuit.state == CLOSED:
                return Permit(key, False, 0)
            moved = self._due(key, circuit)
            outcome = self._probe(key, circuit)
        if moved:
            self._notify()
        if isinstance(outcome, CircuitOpenError):
            raise outcome
        return outcome

    def succeeded(self, permit: Permit) -> None:
        """The attempt succeeded: a closed circuit forgets its failures; a
        probe counts towards closing a half-open one."""
        if not permit.probe and permit.key not in self._circuits:
            permit._settled = True  # nothing to forget: see "The closed path"
            return
        with self._lock:
            if permit._settled:
                return
            permit._settled = True
            circuit = self._circuits.get(permit.key)
            if circuit is None:
                return
            if not permit.probe:
                if circuit.state == CLOSED:
                    del self._circuits[permit.key]  # no failures left to remember
                return
            if not self._current_probe(circuit, permit):
                return
            circuit.probes -= 1
            circuit.successes += 1
            if circuit.successes < self.success_threshold:
                return
            del self._circuits[permit.key]
            self._record(permit.key, HALF_OPEN, CLOSED)
        self._notify()

    def failed(self, permit: Permit) -> None:
        """The attempt failed: one more consecutive failure of a closed
        circuit (``failure_threshold`` of them open it); a failed probe opens
        the circuit again for twice as long."""
        with self._lock:
            if permit._settled:
                return
            permit._settled = True
            circuit = self._circuits.get(permit.key)
            if permit.probe:
                if circuit is None or not self._current_probe(circuit, permit):
                    return
                circuit.open_time = min(circuit.open_time * 2, self.max_recovery_timeout)
                jittered = circuit.open_time * jitter_random.uniform(*JITTER)
                self._open(permit.key, circuit, min(jittered, self.max_recovery_timeout))
            else:
                if circuit is None:
                    circuit = self._circuits[permit.key] = _Circuit(self.recovery_timeout)
                elif circuit.state != CLOSED:
                    return
                circuit.failures += 1
                if circuit.failures < self.failure_threshold:
                    return
                self._open(permit.key, circuit, circuit.open_time)
        self._notify()

    def released(self, permit: Permit) -> None:
        """The attempt neither succeeded nor failed (cancelled, or an error
        raised before sending): nothing is counted and a probe's slot is
        given back."""
        with self._lock:
            if permit._settled:
                return
            permit._settled = True
            circuit = self._circuits.get(permit.key)
            if circuit is not None and self._current_probe(circuit, permit):
                circuit.probes -= 1

    def is_failure_outcome(
        self, response: Any = None, error: Optional[BaseException] = None
    ) -> bool:
        """Whether an attempt's outcome counts against its circuit: an
        exception from the transfer, or a response whose status is in
        ``failure_statuses``. ``is_failure(response, error)`` decides instead
        when it returns a bool. A BaseException that is not an Exception
        (asyncio.CancelledError, KeyboardInterrupt) is the caller stopping,
        not the server failing: not a failure."""
        if self.is_failure is not None:
            verdict = self.is_failure(response, error)
            if isinstance(verdict, bool):
                return verdict
        if error is not None:
            return isinstance(error, Exception)
        if response is None:
            return False
        return getattr(response, "status_code", None) in self.failure_statuses

    # Introspection and control

    def state(self, key_or_url: str) -> CircuitState:
        """``"closed"``, ``"open"`` or ``"half_open"``; an open circuit whose
        time has passed is half-open from here on."""
        key = self._resolve(key_or_url)
        with self._lock:
            circuit = self._circuits.get(key)
            if circuit is None:
                return CLOSED
            moved = self._due(key, circuit)
            state = circuit.state
        if moved:
            self._notify()
        return state

    def snapshot(self) -> dict[str, CircuitSnapshot]:
        """Every circuit that is open, half-open or closed with failures
        counted (a closed circuit without failures is not stored)."""
        with self._lock:
            moved = False
            for key, circuit in self._circuits.items():
                moved = self._due(key, circuit) or moved
            view = {
                key: CircuitSnapshot(
                    state=circuit.state,
                    failures=circuit.failures,
                    open_until=circuit.open_until if circuit.state == OPEN else None,
                    probes_in_flight=circuit.probes,
                )
                for key, circuit in self._circuits.items()
            }
        if moved:
            self._notify()
        return view

    def reset(self, key_or_url: Optional[str] = None) -> None:
        """Close one circuit (all of them with None) and forget its history;
        probes handed out before no longer count."""
        key = None if key_or_url is None else self._resolve(key_or_url)
        with self._lock:
            if key is None:
                dropped = list(self._circuits.items())
                self._circuits.clear()
            else:
                circuit = self._circuits.pop(key, None)
                dropped = [] if circuit is None else [(key, circuit)]
            for key, circuit in dropped:
                if circuit.state != CLOSED:
                    self._record(key, circuit.state, CLOSED)
        self._notify()

    def force_open(self, key_or_url: str, seconds: Optional[float] = None) -> None:
        """Open a circuit now, for ``seconds`` (default: its current open
        time, ``recovery_timeout`` unless probes failed; ``math.inf``: until
        ``reset()``). Then it is half-open as usual."""
        if seconds is not None and (math.isnan(seconds) or seconds < 0):
            raise ValueError(f"seconds must be >= 0, not {seconds!r}")
        key = self._resolve(key_or_url)
        with self._lock:
            circuit = self._circuits.get(key)
            if circuit is None:
                circuit = self._circuits[key] = _Circuit(self.recovery_timeout)
            self._open(key, circuit, circuit.open_time if seconds is None else seconds)
        self._notify()

    def _raw_state(self, key: str) -> CircuitState:
        """The state of ``key``'s circuit as stored, without moving an open
        one whose time has passed (the retry loop compares it around its
        calls to tell its observers of transitions)."""
        circuit = self._circuits.get(key)
        return CLOSED if circuit is None else circuit.state

    # Under the lock

    def _resolve(self, key_or_url: str) -> str:
        # A stored key, else a URL (anything with "://") made a key, else a key.
        if key_or_url in self._circuits or "://" not in key_or_url:
            return key_or_url
        return self._key_of(key_or_url)

    def _next_epoch(self) -> int:
        self._epochs += 1
        return self._epochs

    def _current_probe(self, circuit: _Circuit, permit: Permit) -> bool:
        return permit.probe and circuit.state == HALF_OPEN and circuit.epoch == permit._epoch

    def _probe(self, key: str, circuit: _Circuit) -> Union[Permit, CircuitOpenError]:
        if circuit.state == OPEN:
            left = circuit.open_until - self.clock()
            return CircuitOpenError(
                f"the circuit of {key} is open: retry in {left:.1f} s",
                key=key,
                retry_after=left,
                state=OPEN,
            )
        if circuit.probes < self.half_open_max_calls:
            circuit.probes += 1
            return Permit(key, True, circuit.epoch)
        return CircuitOpenError(
            f"the circuit of {key} is half-open and its "
            f"{self.half_open_max_calls} probe(s) are in flight",
            key=key,
            retry_after=0.0,
            state=HALF_OPEN,
        )

    def _record(self, key: str, old: CircuitState, new: CircuitState) -> None:
        if self.listeners:
            self._transitions.append((key, old, new))

    def _open(self, key: str, circuit: _Circuit, seconds: float) -> None:
        old = circuit.state
        circuit.state = OPEN
        circuit.open_until = self.clock() + seconds
        circuit.probes = circuit.successes = 0
        circuit.epoch = self._next_epoch()
        self._record(key, old, OPEN)

    def _half_open(self, key: str, circuit: _Circuit) -> None:
        circuit.state = HALF_OPEN
        circuit.probes = circuit.successes = 0
        circuit.epoch = self._next_epoch()
        self._record(key, OPEN, HALF_OPEN)

    def _due(self, key: str, circuit: _Circuit) -> bool:
        if circuit.state == OPEN and circuit.open_until <= self.clock():
            self._half_open(key, circuit)
            return True
        return False

    # Outside the lock

    def _notify(self) -> None:
        """Deliver the queued transitions to the listeners, in order, unless
        another caller is already doing it (it will deliver these too)."""
        with self._lock:
            if self._notifying or not self._transitions:
                return
            self._notifying = True
        try:
            while True:
                with self._lock:
                    if not self._transitions:
                        self._notifying = False
                        return
                    transition = self._transitions.popleft()
                for listener in self.listeners:
                    try:
                        listener(*transition)
                    except Exception:
                        logger.exception(
                            "circuit breaker listener %r failed on %s: %s -> %s",
                            listener,
                            *transition,
                        )
        except BaseException:
            with self._lock:
                self._notifying = False
            raise


_CONFIGURATION = (
    "failure_threshold",
    "recovery_timeout",
    "max_recovery_timeout",
    "half_open_max_calls",
    "success_threshold",
    "failure_statuses",
    "is_failure",
    "key",
    "listeners",
    "clock",
)
