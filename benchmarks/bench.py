"""requestx against every peer, every scenario, in one run (``make bench``).

    python3 benchmarks/bench.py                      # full run: 3 rounds, median
    python3 benchmarks/bench.py --quick              # 1 short round (make bench-quick)
    python3 benchmarks/bench.py --clients requestx,httpx --scenarios seq,async64
    python3 benchmarks/bench.py --scenarios httpx_transports --merge   # into results.json

1. peers.py installs every peer into a virtualenv of its own (a peer that
   cannot be installed is reported with the reason);
2. servers start on 127.0.0.1: nginx (HTTP/1.1, HTTPS, HTTP/2, bodies of
   every size) and stream_server.py (SSE), pinned to one CPU, the clients and
   the limit tools to the other (``--pin``);
3. every scenario (scenarios.py) runs every client that supports it, each in
   a fresh process of its own interpreter (workload.py), in rounds with the
   order rotated; wrk or h2load (limits.py) measures the limit in every round;
   a transport scenario runs httpx over each of its transports instead;
4. the raw figures go to ``results/results.json``, report.py turns them into
   ``results/report.md`` and PNG charts (``--quick``: ``results/quick/``).
   ``--merge`` adds the scenarios run to the results.json already there
   instead (each keeps the date, commit and load of its own run), so that one
   scenario can be added or measured again without running all the others.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import limits  # noqa: E402
import peers  # noqa: E402
from harness import BenchError  # noqa: E402
from scenarios import BIG, SCENARIOS, SSE_EVENTS, STREAMS, Scenario, Stream  # noqa: E402
from servers import NginxServer, ServerError, nginx_version, raise_on_sigterm  # noqa: E402
from stream_server import StreamServer  # noqa: E402

RESULTS = HERE / "results"
REPORT_VENV = peers.Peer("report", None, ("matplotlib",))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 short round (under 3 minutes)")
    parser.add_argument("--clients", default="", help="comma-separated peers (default: all)")
    parser.add_argument("--scenarios", default="", help="comma-separated scenario keys")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    parser.add_argument("--seconds", type=float, default=1.5, help="timed part of one run")
    parser.add_argument("--pin", choices=("split", "same", "none"), default="split")
    parser.add_argument("--output", type=Path, help="results directory")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="add the scenarios run to the output's results.json (replacing those of the "
        "same key) instead of writing a new one",
    )
    args = parser.parse_args(argv)
    args.warmup = 0.5
    args.gather_scale = 1
    if args.quick:
        args.rounds, args.seconds, args.warmup, args.gather_scale = 1, 0.3, 0.1, 5
    if args.output is None:
        args.output = RESULTS / "quick" if args.quick else RESULTS
    names = [p.name for p in peers.PEERS]
    args.clients = _subset(args.clients, names, "client")
    keys = [s.key for s in SCENARIOS] + [s.key for s in STREAMS]
    args.scenarios = _subset(args.scenarios, keys, "scenario")
    args.clients = needed_clients(args.clients, args.scenarios)
    return args


def needed_clients(clients: list, keys: list) -> list:
    """The chosen clients that take part in at least one chosen scenario (the
    others are neither installed nor listed in the report)."""
    chosen = set(keys)
    request_scenarios = any(s.key in chosen and not s.transports for s in SCENARIOS)
    streamed = {client for st in STREAMS if st.key in chosen for client, _api in st.clients}

    def takes_part(peer: peers.Peer) -> bool:
        if peer.scenarios:  # a peer for some scenarios only
            return bool(chosen.intersection(peer.scenarios))
        return request_scenarios or peer.name in streamed

    return [name for name in clients if takes_part(peers.BY_NAME[name])]


def _subset(text: str, choices: list, what: str) -> list:
    chosen = [c.strip() for c in text.split(",") if c.strip()] or list(choices)
    unknown = [c for c in chosen if c not in choices]
    if unknown:
        raise SystemExit(
            f"unknown {what}(s): {', '.join(unknown)}; choose from {','.join(choices)}"
        )
    return chosen


@contextlib.contextmanager
def pinned_servers(pin: str):
    """nginx (with TLS) and the SSE server on the server CPU; this process,
    and so the clients and limit tools it starts, on the other."""
    server_cpus, client_cpus, pinning = harness.plan_cpus(pin)
    if server_cpus and not harness.set_affinity(server_cpus):
        client_cpus, pinning = None, "none (could not set CPU affinity)"
    with NginxServer(tls=True) as nginx, StreamServer() as stream:
        if client_cpus:
            harness.set_affinity(client_cpus)
        harness.check_server(nginx.url("/json"))
        yield nginx, stream, pinning


class Runner:
    """Runs workers and limit tools against the servers, and keeps the results."""

    def __init__(self, status: dict, nginx: NginxServer, stream: StreamServer, args) -> None:
        self.status, self.nginx, self.stream, self.args = status, nginx, stream, args
        self.loads: list = []  # the 1-minute load average as each scenario starts

    def worker(self, client: str, task: dict, timeout: float) -> dict:
        """One measurement in a fresh process of the client's interpreter."""
        info = self.status[client]
        task = {"client": client, **task}
        cmd = [info["python"], str(peers.WORKLOAD), info["adapter"], json.dumps(task)]
        env = peers.worker_env(peers.BY_NAME[client])
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"error": f"did not finish within {timeout:.0f}s"}
        try:
            return harness.worker_result(cmd[:3], proc.returncode, proc.stdout, proc.stderr)
        except BenchError as exc:
            return {"error": str(exc).splitlines()[-1]}

    # -- request scenarios ---------------------------------------------------

    def request_task(self, scenario: Scenario) -> dict:
        return {
            "mode": scenario.mode,
            "url": self.nginx.url(scenario.path, scenario.server),
            "method": scenario.method,
            "body_size": scenario.body_size,
            "expect_len": scenario.expect_len,
            "concurrency": scenario.concurrency,
            "http2": scenario.http2,
            "seconds": self.args.seconds,
            "warmup": self.args.warmup,
            "n": scenario.gather // self.args.gather_scale,
            "timeout": 120.0,
        }

    def limit(self, scenario: Scenario) -> dict:
        url = self.nginx.url(scenario.path, scenario.server)
        if scenario.limit_tool == "h2load":
            return limits.h2load(url, scenario.concurrency, self.args.seconds)
        return limits.wrk(url, scenario.concurrency, self.args.seconds, scenario.body_size)

    def clients_for(self, scenario: Scenario) -> tuple:
        """(clients that run it, {client: why not})."""
        runs, skipped = [], {}
        for client in self.args.clients:
            info = self.status[client]
            reason = info.get("error")
            if reason is None and info["only"] and scenario.key not in info["only"]:
                continue
            reason = reason or scenario.applies(info)
            if reason:
                skipped[client] = reason
            else:
                runs.append(client)
        return runs, skipped

    def transports_for(self, scenario: Scenario) -> tuple:
        """(transports that run it, {transport: why not}), as clients_for."""
        info = self.status.get(peers.TRANSPORTS_PEER)
        if info is None:  # the peer was not chosen
            return [], {}
        if "error" in info:
            return [], {transport: info["error"] for transport in scenario.transports}
        return list(scenario.transports), {}

    def measure(self, scenario: Scenario, member: str, task: dict, timeout: float) -> dict:
        """One run of a client, of a transport or of the limit tool."""
        if member == scenario.limit_tool:
            return self.limit(scenario)
        if scenario.transports:
            task = {**task, "transport": member, "client": f"httpx over {member}'s transport"}
            return self.worker(peers.TRANSPORTS_PEER, task, timeout)
        return self.worker(member, task, timeout)

    def run_scenario(self, scenario: Scenario) -> dict:
        self.loads.append(load_average())
        if scenario.transports:
            clients, skipped = self.transports_for(scenario)
        else:
            clients, skipped = self.clients_for(scenario)
        members = clients + ([scenario.limit_tool] if scenario.limit_tool else [])
        runs = {member: [] for member in members}
        errors = {}
        task = self.request_task(scenario)
        timeout = self.args.seconds * 4 + 150
        for round_no in range(self.args.rounds):
            for member in harness.rotated(members, round_no):
                if member in errors:
                    continue
                result = self.measure(scenario, member, task, timeout)
                if "error" in result:
                    errors[member] = result["error"]
                    print(f"  {scenario.key:<21} {member:<14} FAILED: {result['error']}")
                    continue
                runs[member].append(result)
                print(
                    f"  {scenario.key:<21} {member:<14} {result['rps']:>11,.0f} req/s", flush=True
                )
        return {
            **scenario.__dict__,
            "gather": task["n"],
            "limit_tool": scenario.limit_tool,
            "runs": {m: r for m, r in runs.items() if r},
            "skipped": skipped,
            "errors": errors,
        }

    # -- stream scenarios ----------------------------------------------------

    def stream_task(self, stream: Stream, api: str) -> dict:
        if stream.mode == "sse":
            task = {"url": self.stream.url(SSE_EVENTS), "expect_items": SSE_EVENTS, "api": api}
        elif stream.mode == "download":
            task = {"url": self.nginx.url("/bytes/1g"), "expect_items": BIG, "api": api}
        else:
            task = {"url": self.nginx.url("/upload"), "body_size": BIG, "source": api}
            task.update(file=str(self.nginx.body_path("1g")), expect_len=2)
        return {"mode": stream.mode, **task}

    def stream_limit(self, stream: Stream) -> dict:
        if stream.mode == "sse":
            result = limits.curl(self.stream.url(SSE_EVENTS))
            return {**result, "per_s": SSE_EVENTS / result["seconds"]}
        if stream.mode == "download":
            return limits.curl(self.nginx.url("/bytes/1g"))
        return limits.curl(self.nginx.url("/upload"), upload=self.nginx.body_path("1g"))

    def run_stream(self, stream: Stream) -> dict:
        self.loads.append(load_average())
        members = [f"{client} {api}" for client, api in stream.clients]
        members = [m for m in members if m.split()[0] in self.args.clients]
        skipped = {
            m: self.status[m.split()[0]]["error"]
            for m in members
            if "error" in self.status[m.split()[0]]
        }
        members = [m for m in members if m not in skipped] + ["curl"]
        runs = {member: [] for member in members}
        errors = {}
        # Untimed first transfers: the SSE server renders its response once, and
        # the first read of the sparse 1 GiB file fills the page cache.
        if stream.mode == "sse":
            limits.curl(self.stream.url(SSE_EVENTS))
        else:
            limits.curl(self.nginx.url("/bytes/1g"))
        for round_no in range(self.args.rounds):
            for member in harness.rotated(members, round_no):
                if member in errors:
                    continue
                if member == "curl":
                    result = self.stream_limit(stream)
                else:
                    client, api = member.split()
                    result = self.worker(client, self.stream_task(stream, api), 600)
                if "error" in result:
                    errors[member] = result["error"]
                    print(f"  {stream.key:<10} {member:<16} FAILED: {result['error']}")
                    continue
                runs[member].append(result)
                print(f"  {stream.key:<10} {member:<16} {result['per_s']:>14,.0f} {stream.unit}/s")
        return {
            **stream.__dict__,
            "runs": {m: r for m, r in runs.items() if r},
            "skipped": skipped,
            "errors": errors,
        }


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


# What a merged scenario keeps of its own run's meta (the report prints it).
RUN_KEYS = (
    "date requestx_commit quick rounds seconds warmup pinning load_before load_during load_after"
).split()


def merged(old: dict, new: dict) -> dict:
    """``new``'s scenarios and streams added to ``old``'s, replacing those of
    the same key in place; each carries its own run's meta (``run``).  The
    header of ``old`` stays: it describes the run the other figures are from."""
    run = {key: new["meta"][key] for key in RUN_KEYS}
    for part in ("scenarios", "streams"):
        fresh = {item["key"]: {**item, "run": run} for item in new[part]}
        old[part] = [fresh.pop(item["key"], item) for item in old[part]] + list(fresh.values())
    old["meta"]["peers"].update(new["meta"]["peers"])
    return old


def run(args) -> int:
    started = time.monotonic()
    meta = {
        "date": harness.utc_timestamp(),
        "machine": harness.machine_description(),
        "quick": args.quick,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "load_before": load_average(),
    }
    missing = limits.missing_tools()
    if missing:
        raise BenchError("missing: " + ", ".join(missing) + " (make bench installs them)")
    meta["requestx_commit"] = peers.snapshot_requestx()
    print("preparing the clients' virtualenvs ...", flush=True)
    status = peers.prepare(args.clients)
    report_python = peers.python_of(REPORT_VENV)
    report_error = peers.install(REPORT_VENV)
    scenarios = [s for s in SCENARIOS if s.key in args.scenarios]
    if peers.TRANSPORTS_PEER not in args.clients:
        scenarios = [s for s in scenarios if not s.transports]
    streams = [s for s in STREAMS if s.key in args.scenarios]
    with pinned_servers(args.pin) as (nginx, stream_server, pinning):
        meta["pinning"] = pinning
        meta["nginx"] = nginx_version(nginx.nginx)
        runner = Runner(status, nginx, stream_server, args)
        results = [runner.run_scenario(s) for s in scenarios]
        stream_results = [runner.run_stream(s) for s in streams]
    meta["load_after"] = load_average()
    meta["load_during"] = [min(runner.loads, default=0), max(runner.loads, default=0)]
    meta["duration_s"] = round(time.monotonic() - started, 1)
    meta["peers"] = {
        name: {k: v for k, v in info.items() if k != "python"} for name, info in status.items()
    }
    args.output.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "scenarios": results, "streams": stream_results}
    results_path = args.output / "results.json"
    if args.merge and results_path.exists():
        data = merged(json.loads(results_path.read_text(encoding="utf-8")), data)
    results_path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    print(f"\nresults in {harness.display_path(results_path)} ({meta['duration_s']:.0f}s)")
    python = sys.executable if report_error else str(report_python)
    if report_error:
        print(f"warning: no charts, matplotlib could not be installed: {report_error}")
    return subprocess.run([python, str(HERE / "report.py"), str(results_path)]).returncode


def main(argv=None) -> int:
    args = parse_args(argv)
    raise_on_sigterm()
    try:
        return run(args)
    except (BenchError, ServerError, RuntimeError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
