"""requestx.contrib.opentelemetry: spans per attempt and the duration
histogram, checked with opentelemetry-sdk's in-memory exporter and reader."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import httpx
import pytest

import requestx

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.instrumentation.utils import suppress_http_instrumentation  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

from requestx.contrib.opentelemetry import (  # noqa: E402
    DURATION_BOUNDARIES,
    RequestxInstrumentor,
)

pytestmark = pytest.mark.requestx_only


class Telemetry:
    def __init__(self):
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self):
        return [s for s in self.exporter.get_finished_spans() if s.name != "outer"]

    def duration_points(self):
        data = self.reader.get_metrics_data()
        points = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == "http.client.request.duration":
                        assert metric.unit == "s"
                        points.extend(metric.data.data_points)
        return points


@pytest.fixture
def otel():
    telemetry = Telemetry()
    instrumentor = RequestxInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    yield telemetry
    instrumentor.uninstrument()


def test_one_client_span_per_request_with_the_stable_attributes(otel, fault_server):
    host, port = fault_server.url.split("://")[1].rstrip("/").split(":")
    requestx.get(fault_server.url + "/ok")
    (span,) = otel.spans()
    assert span.name == "GET" and span.kind is SpanKind.CLIENT
    assert dict(span.attributes) == {
        "http.request.method": "GET",
        "server.address": host,
        "server.port": int(port),
        "url.full": fault_server.url.rstrip("/") + "/ok",
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
    }
    assert span.status.status_code is StatusCode.UNSET


def test_retries_give_one_span_each_with_resend_counts(otel, fault_server, sleeps):
    retry = requestx.Retry(total=3, status_forcelist=[503], backoff_factor=0)
    s = requestx.Session(retries=retry)
    s.get(fault_server.url + "/fail-n-times?n=3&status=503&key=otel-retries")
    spans = otel.spans()
    assert len(spans) == 4
    assert [s.attributes.get("http.request.resend_count") for s in spans] == [None, 1, 2, 3]
    assert [s.attributes["http.response.status_code"] for s in spans] == [503, 503, 503, 200]
    assert [s.status.status_code for s in spans] == [StatusCode.ERROR] * 3 + [StatusCode.UNSET]
    assert spans[0].attributes["error.type"] == "503"


def test_url_full_has_no_credentials(otel, fault_server):
    host = fault_server.url.split("://")[1].rstrip("/")
    requestx.get(f"http://alice:s3cret@{host}/ok?sig=xyz&q=1")
    (span,) = otel.spans()
    assert span.attributes["url.full"] == f"http://{host}/ok?sig=REDACTED&q=1"
    assert "s3cret" not in str(dict(span.attributes)) and "alice" not in span.attributes["url.full"]


def test_the_server_sees_the_traceparent_of_the_span(otel, fault_server):
    r = requestx.get(fault_server.url + "/echo-head")
    (span,) = otel.spans()
    context = span.get_span_context()
    expected = f"traceparent: 00-{context.trace_id:032x}-{context.span_id:016x}-"
    assert expected.lower() in r.text.lower()


def test_a_5xx_is_an_error_span(otel, fault_server):
    requestx.get(fault_server.url + "/status/502")
    (span,) = otel.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "502"


def test_a_refused_connection_is_an_error_span(otel, refused_url):
    with pytest.raises(requestx.ConnectionError):
        requestx.get(refused_url)
    (span,) = otel.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "connection_error"
    assert "http.response.status_code" not in span.attributes


def test_async_requests_are_traced(otel, fault_server):
    async def main():
        s = requestx.AsyncSession()
        rs = await asyncio.gather(*(s.get(fault_server.url + "/echo-head") for _ in range(3)))
        await s.close()
        return rs

    responses = asyncio.run(main())
    spans = otel.spans()
    assert len(spans) == 3
    ids = {f"{s.get_span_context().span_id:016x}" for s in spans}
    assert {r.text.split("traceparent: ")[1][36:52] for r in responses} == ids


def test_the_duration_histogram_has_the_advisory_boundaries(otel, fault_server):
    for _ in range(3):
        requestx.get(fault_server.url + "/ok")
    requestx.get(fault_server.url + "/status/404")
    points = otel.duration_points()
    assert {p.attributes.get("http.response.status_code"): p.count for p in points} == {
        200: 3,
        404: 1,
    }
    assert list(points[0].explicit_bounds) == [float(b) for b in DURATION_BOUNDARIES]
    (failed,) = [p for p in points if p.attributes.get("http.response.status_code") == 404]
    assert failed.attributes["error.type"] == "404"
    assert failed.attributes["http.request.method"] == "GET"


def test_suppressed_instrumentation_makes_no_span(otel, fault_server):
    with suppress_http_instrumentation():
        r = requestx.get(fault_server.url + "/echo-head")
    assert otel.spans() == [] and "traceparent" not in r.text


def test_hooks_see_the_span(fault_server):
    telemetry = Telemetry()
    seen = []
    instrumentor = RequestxInstrumentor()
    instrumentor.instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        request_hook=lambda span, attempt: span.set_attribute("hooked", attempt.method),
        response_hook=lambda span, attempt, result: seen.append(result.status),
    )
    try:
        requestx.get(fault_server.url + "/ok")
    finally:
        instrumentor.uninstrument()
    (span,) = telemetry.spans()
    assert span.attributes["hooked"] == "GET" and seen == [200]
    requestx.get(fault_server.url + "/ok")  # uninstrumented: nothing more
    assert len(telemetry.spans()) == 1


def test_no_duplicate_span_under_an_instrumented_httpx_client(otel, fault_server):
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    client = httpx.Client(transport=requestx.HTTPTransport())
    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=otel.tracer_provider)
    try:
        r = client.get(fault_server.url + "/echo-head")
    finally:
        HTTPXClientInstrumentor.uninstrument_client(client)
        client.close()
    spans = otel.spans()
    assert len(spans) == 1 and spans[0].instrumentation_scope.name.endswith("httpx")
    assert r.text.lower().count("traceparent") == 1


def test_transports_are_traced_on_their_own(otel, fault_server):
    with httpx.Client(transport=requestx.HTTPTransport()) as client:
        client.get(fault_server.url + "/ok")
    (span,) = otel.spans()
    assert span.instrumentation_scope.name == "requestx.contrib.opentelemetry"


def test_opentelemetry_instrument_finds_the_entry_point(tmp_path):
    code = textwrap.dedent(
        """
        from importlib.metadata import entry_points
        (ep,) = [e for e in entry_points(group="opentelemetry_instrumentor")
                 if e.name == "requestx"]
        print(ep.load().__name__)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "RequestxInstrumentor"


def test_no_duplicate_span_under_an_instrumented_async_httpx_client(otel, fault_server):
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    async def main():
        client = httpx.AsyncClient(transport=requestx.AsyncHTTPTransport())
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=otel.tracer_provider)
        try:
            return await client.get(fault_server.url + "/echo-head")
        finally:
            HTTPXClientInstrumentor.uninstrument_client(client)
            await client.aclose()

    r = asyncio.run(main())
    spans = otel.spans()
    assert len(spans) == 1 and spans[0].instrumentation_scope.name.endswith("httpx")
    assert r.text.lower().count("traceparent") == 1


def test_async_transports_are_traced(otel, fault_server):
    async def main():
        async with httpx.AsyncClient(transport=requestx.AsyncHTTPTransport()) as client:
            return await client.get(fault_server.url + "/status/503")

    assert asyncio.run(main()).status_code == 503
    (span,) = otel.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["http.response.status_code"] == 503


def test_a_span_inside_an_application_span_is_its_child(otel, fault_server):
    tracer = otel.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("outer") as outer:
        requestx.get(fault_server.url + "/ok")
    (span,) = otel.spans()
    assert span.parent is not None and span.parent.span_id == outer.get_span_context().span_id
    assert span.context.trace_id == outer.get_span_context().trace_id


def test_an_unknown_method_is_other(otel, fault_server):
    requestx.request("PURGE", fault_server.url + "/ok")
    (span,) = otel.spans()
    assert span.name == "HTTP"
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "PURGE"
