"""OpenTelemetry for requestx: one CLIENT span per attempt and the
http.client.request.duration histogram, without monkey-patching.

    from requestx.contrib.opentelemetry import RequestxInstrumentor

    RequestxInstrumentor().instrument()         # global tracer and meter providers
    RequestxInstrumentor().instrument(tracer_provider=tp, meter_provider=mp,
                                      request_hook=..., response_hook=...)
    RequestxInstrumentor().uninstrument()

``opentelemetry-instrument python app.py`` finds it through the
``opentelemetry_instrumentor`` entry point ``requestx``. ``instrument()``
adds an observer to ``requestx.observers`` (requestx/_core/observe.py), so
every Session, AsyncSession and transport of the process is traced;
``uninstrument()`` removes it.

The spans follow the stable HTTP client semantic conventions:

* one span per physical send (retries, redirects each get their own), kind
  CLIENT, named by the method (``HTTP`` for a method outside the known set,
  which is then ``_OTHER`` with ``http.request.method_original``);
* attributes ``http.request.method``, ``server.address``, ``server.port``,
  ``url.full`` (no userinfo; the values of signature parameters of the
  query redacted), ``http.response.status_code``, ``network.protocol.version``,
  ``error.type`` (requestx's error_type, or the status code for 4xx/5xx),
  and ``http.request.resend_count`` from the second send of a call on;
* status ERROR for a 4xx or 5xx response and for a transport error;
* the trace context injected into the request's headers (``traceparent``)
  by the global propagator;
* the span ends when the attempt does: after the whole body for a plain
  request, at the response headers for ``stream=True`` (and on the httpx
  transports, which always stream);
* ``http.client.request.duration`` (seconds, the advisory boundaries
  [0.005 ... 10]) records each attempt's duration with the metric's
  attributes (method, server address and port, status code, protocol
  version, error type).

It stands down (no span, no metric, no header) inside
``suppress_http_instrumentation()`` or ``suppress_instrumentation()``, and
when the current span is already an HTTP CLIENT span (an instrumented
httpx client over requestx's transport: httpx's span covers the exchange,
so requestx does not make a second one).

``request_hook(span, attempt)`` runs after a span starts (``attempt``: an
observe.AttemptInfo); ``response_hook(span, attempt, result)`` before it
ends (``result``: an observe.AttemptResult).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Callable, Optional

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import is_http_instrumentation_enabled
from opentelemetry.metrics import get_meter
from opentelemetry.propagate import inject
from opentelemetry.trace import SpanKind, Status, StatusCode

from ..__version__ import __version__
from .._core import observe as _observe

__all__ = ["DURATION_BOUNDARIES", "RequestxInstrumentor"]

# OpenTelemetry's advisory boundaries for http.client.request.duration (also
# prometheus_client's default buckets, and those of the engine's aggregates).
DURATION_BOUNDARIES = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)

_KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"}
)
_PROTOCOLS = {"HTTP/1.0": "1.0", "HTTP/1.1": "1.1", "HTTP/2": "2", "HTTP/3": "3"}

RequestHook = Callable[[Any, _observe.AttemptInfo], None]
ResponseHook = Callable[[Any, _observe.AttemptInfo, _observe.AttemptResult], None]

_SPAN = "otel.span"


class _Tracing:
    """The observer instrument() adds to requestx.observers."""

    def __init__(
        self,
        tracer: Any,
        duration: Any,
        request_hook: Optional[RequestHook],
        response_hook: Optional[ResponseHook],
    ) -> None:
        self.tracer = tracer
        self.duration = duration
        self.request_hook = request_hook
        self.response_hook = response_hook

    def on_attempt_start(self, attempt: _observe.AttemptInfo) -> None:
        if not is_http_instrumentation_enabled():
            return
        current = trace.get_current_span()
        if getattr(current, "kind", None) is SpanKind.CLIENT:
            outer = getattr(current, "attributes", None) or {}
            if "http.request.method" in outer or "http.method" in outer:
                return  # another HTTP client instrumentation spans this exchange
        method = attempt.method
        known = method in _KNOWN_METHODS
        attributes: dict[str, Any] = {
            "http.request.method": method if known else "_OTHER",
            "server.address": attempt.host,
            "server.port": attempt.port,
            "url.full": attempt.url,
        }
        if not known:
            attributes["http.request.method_original"] = method
        if attempt.attempt > 0:
            attributes["http.request.resend_count"] = attempt.attempt
        span = self.tracer.start_span(
            method if known else "HTTP", kind=SpanKind.CLIENT, attributes=attributes
        )
        attempt.context[_SPAN] = (span, attributes["http.request.method"])
        inject(attempt.headers, context=trace.set_span_in_context(span))
        if self.request_hook is not None:
            self.request_hook(span, attempt)

    def on_attempt_end(self, attempt: _observe.AttemptInfo, result: _observe.AttemptResult) -> None:
        started = attempt.context.pop(_SPAN, None)
        if started is None:
            return
        span, method = started
        metric: dict[str, Any] = {
            "http.request.method": method,
            "server.address": attempt.host,
            "server.port": attempt.port,
        }
        error_type: Optional[str] = None
        if result.status is not None:
            span.set_attribute("http.response.status_code", result.status)
            metric["http.response.status_code"] = result.status
            if result.status >= 400:
                error_type = str(result.status)
        if result.http_version is not None:
            version = _PROTOCOLS.get(result.http_version, result.http_version)
            span.set_attribute("network.protocol.version", version)
            metric["network.protocol.version"] = version
        if result.error is not None:
            error_type = result.error_type or type(result.error).__name__
        if error_type is not None:
            span.set_attribute("error.type", error_type)
            metric["error.type"] = error_type
            cancelled = type(result.error).__name__ == "CancelledError"
            if not cancelled:  # a caller's cancellation is not the server's error
                span.set_status(Status(StatusCode.ERROR))
        if self.response_hook is not None:
            self.response_hook(span, attempt, result)
        self.duration.record(result.duration, attributes=metric)
        span.end()


class RequestxInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """The OpenTelemetry instrumentor of requestx (see the module docstring)."""

    _observer: Optional[_Tracing] = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("requestx",)

    def _instrument(self, **kwargs: Any) -> None:
        tracer = trace.get_tracer(
            __name__,
            __version__,
            kwargs.get("tracer_provider"),
            schema_url="https://opentelemetry.io/schemas/1.21.0",
        )
        meter = get_meter(
            __name__,
            __version__,
            kwargs.get("meter_provider"),
            schema_url="https://opentelemetry.io/schemas/1.21.0",
        )
        duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests.",
            explicit_bucket_boundaries_advisory=list(map(float, DURATION_BOUNDARIES)),
        )
        observer = _Tracing(
            tracer, duration, kwargs.get("request_hook"), kwargs.get("response_hook")
        )
        type(self)._observer = observer
        _observe.observers.append(observer)

    def _uninstrument(self, **kwargs: Any) -> None:
        observer = type(self)._observer
        type(self)._observer = None
        if observer is not None and observer in _observe.observers:
            _observe.observers.remove(observer)
