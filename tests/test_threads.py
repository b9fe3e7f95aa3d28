"""Thread safety: one Session shared by many threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from _helpers import parse_wire

import requestx

THREADS = 8
PER_THREAD = 50  # 400 requests in all


def _run_in_threads(worker):
    barrier = threading.Barrier(THREADS)

    def start(tid):
        barrier.wait()
        return worker(tid)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(start, range(THREADS)))


def test_one_session_from_8_threads_all_succeed(session, httpbin):
    def worker(tid):
        out = []
        for i in range(PER_THREAD):
            r = session.get(httpbin + "/get", params={"t": str(tid), "i": str(i)})
            out.append((r.status_code, r.json()["args"]))
        return out

    results = _run_in_threads(worker)
    for tid, out in enumerate(results):
        assert out == [(200, {"t": str(tid), "i": str(i)}) for i in range(PER_THREAD)]


def test_one_session_from_8_threads_bodies_are_not_mixed(session, fault_server):
    def worker(tid):
        bad = []
        for i in range(PER_THREAD):
            payload = f"thread {tid} request {i} ".encode() * (1 + (tid * PER_THREAD + i) % 200)
            r = session.post(fault_server + "/echo-raw", data=payload, headers={"X-T": str(tid)})
            wire = parse_wire(r.content)
            if wire.body != payload or wire.get("X-T") != str(tid):
                bad.append(i)
        return bad

    assert _run_in_threads(worker) == [[] for _ in range(THREADS)]


def test_one_session_from_8_threads_streams(session, fault_server):
    from servers.fault import big_body

    expected = big_body(64 * 1024)

    def worker(tid):
        ok = 0
        for _ in range(10):
            with session.get(fault_server + "/big?size=65536", stream=True) as r:
                if b"".join(r.iter_content(4096)) == expected:
                    ok += 1
        return ok

    assert _run_in_threads(worker) == [10] * THREADS


def test_functional_api_from_8_threads(httpbin):
    def worker(tid):
        return [
            requestx.get(httpbin + "/get", params={"t": str(tid), "i": str(i)}).json()["args"]
            for i in range(10)
        ]

    results = _run_in_threads(worker)
    for tid, out in enumerate(results):
        assert out == [{"t": str(tid), "i": str(i)} for i in range(10)]


def test_shared_session_cookies_from_threads(session, httpbin):
    def worker(tid):
        session.get(httpbin + f"/cookies/set/c{tid}/v{tid}")
        return True

    _run_in_threads(worker)
    assert {f"c{t}": f"v{t}" for t in range(THREADS)}.items() <= dict(session.cookies).items()
