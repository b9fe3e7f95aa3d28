"""requestx.contrib.prometheus: the engine's aggregates as Prometheus
metrics, read at scrape time, checked with prometheus_client's own parser."""

from __future__ import annotations

import pytest
from servers.fault import refused_port

import requestx

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from requestx.contrib.prometheus import RequestxCollector  # noqa: E402

pytestmark = pytest.mark.requestx_only


def scrape(collector):
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family, suffix="", **labels):
    return [
        s
        for s in family.samples
        if s.name == family.name + suffix
        and all(s.labels.get(k) == str(v) for k, v in labels.items())
    ]


def test_counts_equal_the_requests_made_per_status(fault_server):
    s = requestx.Session(stats=True)
    for _ in range(5):
        s.get(fault_server.url + "/ok")
    for _ in range(2):
        s.get(fault_server.url + "/status/500")
    families = scrape(RequestxCollector([s]))
    duration = families["requestx_client_request_duration_seconds"]
    assert duration.type == "histogram"
    (ok,) = samples(duration, "_count", status_code=200)
    (failed,) = samples(duration, "_count", status_code=500)
    assert ok.value == 5 and failed.value == 2
    assert ok.labels["method"] == "GET" and ok.labels["scheme"] == "http"
    assert ok.labels["server_address"] == "127.0.0.1" and ok.labels["error_type"] == ""
    buckets = samples(duration, "_bucket", status_code=200)
    assert [b.labels["le"] for b in buckets] == [
        "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1.0",
        "2.5", "5.0", "7.5", "10.0", "+Inf",
    ]  # fmt: skip
    assert buckets[-1].value == 5 and all(a.value <= b.value for a, b in zip(buckets, buckets[1:]))
    phases = families["requestx_client_phase_duration_seconds"]
    assert {s.labels["phase"] for s in samples(phases, "_count")} == {
        "queue",
        "dns",
        "connect",
        "first_byte",
    }
    connections = families["requestx_client_open_connections"]
    assert sum(s.value for s in connections.samples) == 1


def test_retries_and_resends(fault_server, sleeps):
    retry = requestx.Retry(total=3, status_forcelist=[503], backoff_factor=0)
    s = requestx.Session(stats=True, retries=retry)
    s.get(fault_server.url + "/fail-n-times?n=2&status=503&key=prom-retries")
    families = scrape(RequestxCollector([s]))
    (retries,) = samples(families["requestx_client_retries"], "_total")
    assert retries.value == 2 and retries.labels["reason"] == "status_503"
    assert retries.labels["server_address"] == "127.0.0.1"
    assert samples(families["requestx_client_resends"], "_total") == []


def test_circuit_state_and_transitions(fault_server):
    s = requestx.Session(stats=True, breaker=requestx.CircuitBreaker(failure_threshold=1))
    s.get(fault_server.url + "/status/500")
    families = scrape(RequestxCollector([s]))
    key = fault_server.url.rstrip("/")
    state = families["requestx_client_circuit_state"]
    assert {x.labels["state"]: x.value for x in samples(state, key=key)} == {
        "closed": 0,
        "open": 1,
        "half_open": 0,
    }
    (moved,) = samples(families["requestx_client_circuit_transitions"], "_total", key=key)
    assert moved.labels["state"] == "open" and moved.value == 1


def test_every_session_with_stats_by_default(fault_server):
    s = requestx.Session(stats=True)
    s.get(fault_server.url + "/status/418")
    families = scrape(RequestxCollector())
    assert samples(families["requestx_client_request_duration_seconds"], "_count", status_code=418)


def test_errors_have_an_error_type_and_no_status(refused_url):
    s = requestx.Session(stats=True)
    with pytest.raises(requestx.ConnectionError):
        s.get(refused_url)
    (entry,) = samples(
        scrape(RequestxCollector([s]))["requestx_client_request_duration_seconds"], "_count"
    )
    assert entry.labels["status_code"] == "" and entry.labels["error_type"] == "connection_error"


def test_the_origin_cap_folds_into_other(fault_server):
    s = requestx.Session(stats=True, stats_max_origins=1)
    s.get(fault_server.url + "/ok")
    for _ in range(3):
        with pytest.raises(requestx.ConnectionError):
            s.get(f"http://127.0.0.1:{refused_port()}/")
    duration = scrape(RequestxCollector([s]))["requestx_client_request_duration_seconds"]
    addresses = {x.labels["server_address"] for x in samples(duration, "_count")}
    assert addresses == {"127.0.0.1", "_other"}
    (other,) = samples(duration, "_count", server_address="_other")
    assert other.value == 3


def test_same_labels_of_two_sessions_add_up(fault_server):
    a, b = requestx.Session(stats=True), requestx.Session(stats=True)
    a.get(fault_server.url + "/ok")
    b.get(fault_server.url + "/ok")
    duration = scrape(RequestxCollector([a, b]))["requestx_client_request_duration_seconds"]
    (count,) = samples(duration, "_count", status_code=200)
    assert count.value == 2


def test_a_session_without_stats_adds_nothing(fault_server):
    s = requestx.Session()
    s.get(fault_server.url + "/ok")
    families = scrape(RequestxCollector([s]))
    assert families["requestx_client_request_duration_seconds"].samples == []


def test_resends_of_stale_connections(isolated_fault_server):
    server = isolated_fault_server
    with requestx.Session(stats=True) as s:
        s.get(server.url + "/stale-second")
        s.get(server.url + "/stale-second")
    (resent,) = samples(scrape(RequestxCollector([s]))["requestx_client_resends"], "_total")
    assert resent.value == 1 and resent.labels["reason"] == "stale_connection"
