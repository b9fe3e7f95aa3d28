"""requestx traced by its OpenTelemetry instrumentor (the SDK's tracer and
meter providers, nothing exported): a span and a histogram point per
request (compare with the plain requestx rows)."""

import requestx

from .requests_like import AsyncSession, SyncSession

NAME = "requestx"
_instrumented = False


def version() -> str:
    return requestx.__version__


def _instrument() -> None:
    global _instrumented
    if not _instrumented:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider

        from requestx.contrib.opentelemetry import RequestxInstrumentor

        RequestxInstrumentor().instrument(
            tracer_provider=TracerProvider(), meter_provider=MeterProvider()
        )
        _instrumented = True


def open_sync(pool, http2):
    _instrument()
    session = requestx.Session(http2=http2)
    session.verify = False
    return SyncSession(session, "Session(), RequestxInstrumentor, verify=False")


async def open_async(pool, http2):
    _instrument()
    session = requestx.AsyncSession(max_connections=pool, http2=http2)
    session.verify = False
    setup = f"AsyncSession(max_connections={pool}), RequestxInstrumentor, verify=False"
    return AsyncSession(session, setup)
