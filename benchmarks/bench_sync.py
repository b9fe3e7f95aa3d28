"""Sync benchmark: sequential keep-alive GETs of a small JSON body.

One client, one connection, one request at a time, against a private nginx on
127.0.0.1 (see servers.py) serving a ~100-byte JSON body at /json.  Compared in
the same run:

    requestx  one requestx.Session()
    requests  one requests.Session()
    urllib3   one HTTPConnectionPool (maxsize=1)
    pycurl    one reused Curl handle writing into a BytesIO (pycurl's fast path)
    wrk       ``wrk -t1 -c1`` -- the practical limit of this server + machine

Every Python client runs in its own fresh subprocess (nothing else imported),
warms up, checks that it got status 200 and the full body, then times N
requests, reading the status and the body of every response.  Rounds are
interleaved (each round runs every client once, in rotating order) and the
median of the rounds is reported.

Targets (from the issue): requestx >= 1.3x pycurl and >= 20x requests.

    .venv/bin/python benchmarks/bench_sync.py                  # full run (~30 s)
    .venv/bin/python benchmarks/bench_sync.py --quick          # smoke test (~5 s)
    .venv/bin/python benchmarks/bench_sync.py --clients requests,pycurl,wrk
    .venv/bin/python benchmarks/bench_sync.py --check          # exit 1 if a target is missed

The markdown table is printed and written to benchmarks/results/sync.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
from harness import BenchError, fmt_int, fmt_ratio  # noqa: E402
from servers import JSON_BODY_BYTES  # noqa: E402

ALL_CLIENTS = ("requestx", "requests", "urllib3", "pycurl", "pycurl-syslib", "wrk")
PY_CLIENTS = ("requestx", "requests", "urllib3", "pycurl", "pycurl-syslib")
SLOW_CLIENTS = ("requests", "urllib3")  # get --n-slow requests per run
TARGETS = {"pycurl": 1.3, "requests": 20.0}  # requestx must be >= this many times faster
# pycurl's PyPI wheel bundles its own (newer) libcurl; "pycurl-syslib" is pycurl
# compiled against the system libcurl that requestx links, in a venv of its own,
# so that row compares the two bindings over the very same libcurl.
SYSLIB_VENV = HERE / ".run" / "pycurl-syslib"
PIP_NAMES = {"requestx": "-e . (from the repository root)", "requests": "requests"}
PIP_NAMES.update(urllib3="urllib3", pycurl="pycurl")
PIP_NAMES["pycurl-syslib"] = "--no-binary pycurl pycurl (into benchmarks/.run/pycurl-syslib)"
DEFAULT_OUTPUT = HERE / "results" / "sync.md"
BATCH = 500  # requests between two checks of the time limit


# ---------------------------------------------------------------------------
# Worker side: runs in a fresh subprocess, one client per process.
#
# Each loop_* function sets up its client once and returns run(n), which does
# n sequential GETs and returns (status, body) of the last response.  The loops
# are written the way a user would write them with each library.
# ---------------------------------------------------------------------------


def loop_requestx(url: str):
    import requestx

    session = requestx.Session()

    def run(n):
        for _ in range(n):
            r = session.get(url)
            status = r.status_code
            body = r.content
        return status, body

    return run, getattr(requestx, "__version__", "?"), session.close


def loop_requests(url: str):
    import requests

    session = requests.Session()

    def run(n):
        for _ in range(n):
            r = session.get(url)
            status = r.status_code
            body = r.content
        return status, body

    return run, requests.__version__, session.close


def loop_urllib3(url: str):
    import urllib3

    parsed = urllib3.util.parse_url(url)
    pool = urllib3.HTTPConnectionPool(parsed.host, parsed.port, maxsize=1)
    path = parsed.request_uri

    def run(n):
        for _ in range(n):
            r = pool.request("GET", path)  # preload_content=True: body is read
            status = r.status
            body = r.data
        return status, body

    return run, urllib3.__version__, pool.close


def loop_pycurl(url: str):
    from io import BytesIO

    import pycurl

    curl = pycurl.Curl()
    curl.setopt(pycurl.URL, url)
    buf = BytesIO()
    curl.setopt(pycurl.WRITEDATA, buf)
    response_code = pycurl.RESPONSE_CODE

    def run(n):
        for _ in range(n):
            buf.seek(0)
            buf.truncate()
            curl.perform()
            status = curl.getinfo(response_code)
            body = buf.getvalue()
        return status, body

    version = pycurl.version.split()[0].replace("PycURL/", "")
    return run, f"{version} ({pycurl.version_info()[1]} libcurl)", curl.close


LOOPS = {
    "requestx": loop_requestx,
    "requests": loop_requests,
    "urllib3": loop_urllib3,
    "pycurl": loop_pycurl,
    "pycurl-syslib": loop_pycurl,
}


def syslib_python() -> str:
    """The interpreter of the venv holding pycurl built against the system
    libcurl; made on first use (needs libcurl4-openssl-dev)."""
    python = SYSLIB_VENV / "bin" / "python"
    if not python.exists():
        print("building pycurl against the system libcurl (first run only) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(SYSLIB_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--no-binary", "pycurl", "pycurl"],
            check=True,
        )
    return str(python)


def _verify(client: str, status, body, expect_len: int, when: str) -> None:
    if status != 200 or len(body) != expect_len:
        raise BenchError(
            f"{client}: {when} response was status {status!r} with {len(body)} body bytes; "
            f"expected 200 with {expect_len} bytes"
        )


def worker(client: str, url: str, n: int, warmup: int, expect_len: int, max_seconds: float):
    from time import perf_counter, process_time

    run, version, close = LOOPS[client](url)
    status, body = run(1)
    _verify(client, status, body, expect_len, "first")
    if warmup > 1:
        run(warmup - 1)

    done = 0
    cpu_start = process_time()  # user + system CPU of this process, all threads
    start = perf_counter()
    deadline = start + max_seconds
    while done < n:
        batch = min(BATCH, n - done)
        status, body = run(batch)
        done += batch
        if perf_counter() > deadline:
            break
    elapsed = perf_counter() - start
    cpu = process_time() - cpu_start
    _verify(client, status, body, expect_len, "last timed")
    close()
    return {
        "client": client,
        "version": version,
        "requests": done,
        "seconds": elapsed,
        "rps": done / elapsed,
        "cpu_us": 1e6 * cpu / done,
        "truncated": done < n,
    }


def probe(client: str) -> dict:
    """Import one client (in a subprocess) and report its version."""
    if client == "requestx":
        return {"version": harness.requestx_version("Session")}
    module = __import__("pycurl" if client == "pycurl-syslib" else client)
    return {"version": getattr(module, "__version__", getattr(module, "version", "?"))}


def worker_main(args) -> int:
    if args.probe:
        return harness.worker_reply(probe, args.probe)
    return harness.worker_reply(
        worker, args.worker, args.url, args.n, args.warmup, args.expect_len, args.max_seconds
    )


# ---------------------------------------------------------------------------
# Parent side.
# ---------------------------------------------------------------------------


def _run_self(argv: list, timeout: float):
    python = syslib_python() if "pycurl-syslib" in argv else sys.executable
    cmd = [python, os.path.abspath(__file__), *argv]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"subprocess timed out after {timeout:.0f}s: {' '.join(argv)}") from exc
    return proc.returncode, harness.worker_result(argv, proc.returncode, proc.stdout, proc.stderr)


def check_clients(clients: list) -> dict:
    """Versions of all clients; BenchError listing every missing one."""
    versions, missing = {}, []
    for client in clients:
        if client == "wrk":
            harness.probe_wrk(versions, missing)
            continue
        code, data = _run_self(["--probe", client], timeout=60)
        if code != 0 or "error" in data:
            missing.append(
                f"{client}: {data.get('error', 'failed')}"
                f"\n    install: .venv/bin/pip install {PIP_NAMES[client]}"
            )
        else:
            versions[client] = str(data["version"])
    harness.check_missing(missing, "requests,urllib3,pycurl,wrk")
    return versions


def run_python_client(client: str, url: str, args) -> dict:
    slow = client in SLOW_CLIENTS
    n = args.n_slow if slow else args.n_fast
    warmup = args.warmup_slow if slow else args.warmup_fast
    argv = [
        "--worker",
        client,
        "--url",
        url,
        "-n",
        str(n),
        "--warmup",
        str(warmup),
        "--expect-len",
        str(len(JSON_BODY_BYTES)),
        "--max-seconds",
        str(args.max_seconds),
    ]
    code, data = _run_self(argv, timeout=args.max_seconds + 120)
    if code != 0 or "error" in data:
        raise BenchError(f"{client} failed: {data.get('error', data)}")
    return data


def run_wrk(url: str, seconds: float) -> dict:
    cmd = [harness.find_wrk(), "-t1", "-c1", f"-d{seconds:g}s", url]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired as exc:
        raise BenchError("wrk did not finish in time") from exc
    return {"client": "wrk", **harness.parse_wrk(proc.returncode, proc.stdout + proc.stderr)}


def render(
    results: dict, versions: dict, baseline: str, args, nginx_ver: str, pinning: str
) -> tuple:
    """(markdown report, list of target lines, all targets met?)."""
    medians = {c: statistics.median(r["rps"] for r in runs) for c, runs in results.items()}
    base = medians[baseline]
    lines = [
        f"| client | version | req/s (median) | {baseline} ÷ client | client CPU µs/req "
        "| runs (req/s) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for client in sorted(medians, key=medians.get, reverse=True):
        version = results[client][0].get("version") or versions.get(client, "?")
        runs = ", ".join(fmt_int(r["rps"]) for r in results[client])
        label = f"**{client}**" if client == baseline else client
        if client == "wrk":
            label = "wrk -t1 -c1 (limit)"
        cpu = [r["cpu_us"] for r in results[client] if "cpu_us" in r]
        cpu_text = f"{statistics.median(cpu):.1f}" if cpu else "–"
        lines.append(
            f"| {label} | {version} | {fmt_int(medians[client])} "
            f"| {fmt_ratio(base / medians[client])} | {cpu_text} | {runs} |"
        )
    table = "\n".join(lines)

    target_lines, all_met = [], True
    if baseline == "requestx":
        for other, goal in TARGETS.items():
            if other not in medians:
                target_lines.append(f"- requestx ÷ {other}: not measured (target ≥ {goal:g}x)")
                all_met = False
                continue
            ratio = base / medians[other]
            met = ratio >= goal
            all_met &= met
            verdict = "PASS" if met else "FAIL"
            target_lines.append(
                f"- requestx ÷ {other} = {fmt_ratio(ratio)} (target ≥ {goal:g}x): {verdict}"
            )
    else:
        all_met = False  # targets are about requestx; nothing was verified
    if baseline == "requestx" and "wrk" in medians:
        share = 100.0 * base / medians["wrk"]
        target_lines.append(f"- requestx reaches {share:.0f}% of the wrk -c1 limit")

    ns = {c: results[c][0]["requests"] for c in results if c != "wrk"}
    per_run = ", ".join(f"{c} {n:,}" for c, n in ns.items())
    truncated = [c for c, runs in results.items() if any(r["truncated"] for r in runs)]
    header = [
        "# Sync benchmark: sequential keep-alive GETs",
        "",
        f"Generated by `benchmarks/bench_sync.py` on {harness.utc_timestamp()}.",
        "",
        f"- Workload: GET /json ({len(JSON_BODY_BYTES)}-byte JSON body) from a local nginx "
        f"{nginx_ver} (1 worker, keep-alive, access_log off) over 127.0.0.1; one connection, "
        "one request at a time; every response's status and body are read.",
        "- Each Python client runs in its own subprocess; warm-up "
        f"{args.warmup_fast:,} (fast) / {args.warmup_slow:,} (requests, urllib3) requests; "
        f"timed requests per run: {per_run}; wrk runs {args.wrk_seconds:g}s.",
        f"- Median of {args.repeats} interleaved round(s); CPU pinning: {pinning}.",
        "- client CPU µs/req = user+system CPU time of the client process per request "
        "(independent of where nginx runs).",
        f"- Machine: {harness.machine_description()}.",
    ]
    if truncated:
        header.append(
            f"- Note: {', '.join(truncated)} hit the {args.max_seconds:g}s time limit; "
            "fewer requests were timed."
        )
    report = "\n".join(header) + "\n\n" + table + "\n"
    if target_lines:
        report += "\nTargets:\n\n" + "\n".join(target_lines) + "\n"
    return report, target_lines, all_met


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Sequential keep-alive GET benchmark against a local nginx.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--clients", default=",".join(ALL_CLIENTS), help="comma-separated subset")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument(
        "--n-fast", type=int, default=20000, help="timed requests (requestx, pycurl)"
    )
    parser.add_argument(
        "--n-slow", type=int, default=3000, help="timed requests (requests, urllib3)"
    )
    parser.add_argument("--warmup-fast", type=int, default=2000, help="warm-up requests (fast)")
    parser.add_argument("--warmup-slow", type=int, default=300, help="warm-up requests (slow)")
    parser.add_argument("--wrk-seconds", type=float, default=3.0, help="wrk -d per round")
    harness.add_run_options(parser, DEFAULT_OUTPUT)
    parser.add_argument(
        "--pin",
        choices=("same", "split", "none"),
        default="same",
        help="same: nginx, clients and wrk share one CPU (most stable); "
        "split: nginx on one CPU, clients on another; none: let the scheduler decide",
    )
    # Internal: worker / probe mode (runs in a subprocess).
    parser.add_argument("--worker", choices=PY_CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--probe", choices=PY_CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("-n", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument("--expect-len", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker or args.probe:
        return worker_main(args)

    if args.quick:
        args.repeats = 1
        args.n_fast, args.n_slow = max(1, args.n_fast // 10), max(1, args.n_slow // 10)
        args.warmup_fast, args.warmup_slow = args.warmup_fast // 10, args.warmup_slow // 10
        args.wrk_seconds = 1.0
    if args.repeats < 1 or args.n_fast < 1 or args.n_slow < 1 or args.wrk_seconds <= 0:
        parser.error("--repeats, --n-fast, --n-slow and --wrk-seconds must be positive")

    return harness.run_main(run_benchmark, args)


def run_benchmark(args) -> int:
    clients = harness.parse_clients(args.clients, ALL_CLIENTS)
    baseline = (
        "requestx"
        if "requestx" in clients
        else next((c for c in clients if c != "wrk"), clients[0])
    )
    print(f"checking clients: {', '.join(clients)}", flush=True)
    versions = check_clients(clients)

    results: dict = {c: [] for c in clients}
    with harness.pinned_nginx(args.pin) as (_nginx, url, nginx_ver, pinning):
        started = time.monotonic()
        for round_no in range(args.repeats):
            for client in harness.rotated(clients, round_no):
                if client == "wrk":
                    result = run_wrk(url, args.wrk_seconds)
                else:
                    result = run_python_client(client, url, args)
                results[client].append(result)
                print(
                    f"  round {round_no + 1}/{args.repeats}  {client:<9} "
                    f"{fmt_int(result['rps']):>9} req/s  "
                    f"({result['requests']:,} requests in {result['seconds']:.2f}s)",
                    flush=True,
                )
        print(f"done in {time.monotonic() - started:.1f}s\n")

    report, _target_lines, all_met = render(results, versions, baseline, args, nginx_ver, pinning)
    return harness.publish(report, all_met, args)


if __name__ == "__main__":
    sys.exit(main())
