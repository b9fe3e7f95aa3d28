"""requestx against every peer, every scenario, in one run (``make bench``).

    python3 benchmarks/bench.py                      # full run: 5 rounds, median
    python3 benchmarks/bench.py --quick              # 1 short round (make bench-quick)
    python3 benchmarks/bench.py --clients requestx,httpx --scenarios seq,async64
    python3 benchmarks/bench.py --pins none --scenarios async64 --merge  # into results.json

1. peers.py installs every peer into a virtualenv of its own (a peer that
   cannot be installed is reported with the reason);
2. servers start on 127.0.0.1: nginx (HTTP/1.1, HTTPS, HTTP/2, bodies of
   every size) and stream_server.py (SSE);
3. every scenario (scenarios.py) runs every client that supports it, each in
   a fresh process of its own interpreter (workload.py), in rounds with the
   order rotated; wrk or h2load (limits.py) measures the limit in every round
   (for async64 also libcurl's multi interface from C, on the system libcurl
   and on the bundled one); a transport scenario runs httpx over each of its
   transports instead;
4. CPU pinning (``--pins``, default ``split,none``): every scenario runs
   pinned (``split``: the servers on one CPU, the clients and limit tools on
   the other); the scenarios of ``--pins-scenarios`` then run again at once
   unpinned (``none``: the scheduler places everything), the servers and this
   process being moved between the modes, so both figures come from the same
   minutes of the run;
5. the raw figures go to ``results/results.json`` (each scenario's record
   names its mode, ``pin``), report.py turns them into ``results/report.md``
   and PNG charts (``--quick``: ``results/quick/``), and with ``--docs`` the
   generated block of docs/performance.md.  ``--merge`` adds the scenarios run
   to the results.json already there instead (each keeps the date, commit and
   load of its own run, and replaces the record of the same key and mode), so
   that one scenario can be added or measured again without running all the
   others.
6. the ``websocket`` scenario (websocket.py: WebSocket clients against a
   picows echo server, which it starts itself) runs last, after nginx and the
   SSE server have stopped, in the first --pins mode; its figures go into
   results.json under ``websocket`` and its tables into the report.
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
WEBSOCKET = "websocket"  # the scenario key of websocket.py (it has servers and clients of its own)
REPORT_VENV = peers.Peer("report", None, ("matplotlib",))
# Measured in every --pins mode (the other scenarios in the first mode only): where
# a second CPU for the client changes the picture most.
PINS_SCENARIOS = "seq,threads8,async64,async512,gather10k,get_1m,http2,httpx_transports"
PINS_SCENARIOS_QUICK = "seq,async64"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 short round (under 3 minutes)")
    parser.add_argument("--clients", default="", help="comma-separated peers (default: all)")
    parser.add_argument("--scenarios", default="", help="comma-separated scenario keys")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported")
    parser.add_argument("--seconds", type=float, default=1.5, help="timed part of one run")
    parser.add_argument(
        "--pins",
        help="CPU pinning modes, comma-separated (default: split,none): split = the servers "
        "on one CPU, the clients and limit tools on the other; same = all on one CPU; "
        "none = the scheduler decides.  The first mode runs every scenario, the others "
        "the --pins-scenarios",
    )
    parser.add_argument("--pin", choices=harness.PIN_MODES, help="one mode: --pins PIN")
    parser.add_argument(
        "--pins-scenarios",
        help=f"the scenarios also measured in the second and later --pins modes, or 'all' "
        f"(default: {PINS_SCENARIOS}; quick: {PINS_SCENARIOS_QUICK})",
    )
    parser.add_argument("--output", type=Path, help="results directory")
    parser.add_argument(
        "--docs", type=Path, help="also rewrite the generated block of this file (make bench)"
    )
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
    keys = [s.key for s in SCENARIOS] + [s.key for s in STREAMS] + [WEBSOCKET]
    args.scenarios = _subset(args.scenarios, keys, "scenario")
    args.clients = needed_clients(args.clients, args.scenarios)
    if args.pin and args.pins:
        raise SystemExit("give --pins or --pin, not both")
    args.pins = _subset(args.pin or args.pins or "split,none", harness.PIN_MODES, "pin mode")
    if len(set(args.pins)) != len(args.pins):
        raise SystemExit(f"a --pins mode is named twice: {','.join(args.pins)}")
    if args.pins_scenarios == "all":
        args.pins_scenarios = list(args.scenarios)
    else:
        default = PINS_SCENARIOS_QUICK if args.quick else PINS_SCENARIOS
        request_keys = [s.key for s in SCENARIOS]
        args.pins_scenarios = _subset(args.pins_scenarios or default, request_keys, "scenario")
    return args


def pins_for(args, key: str) -> list:
    """The --pins modes a scenario is measured in (streams: the first only)."""
    return args.pins if key in args.pins_scenarios else args.pins[:1]


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
def servers():
    """nginx (with TLS) and the SSE server, and a ``harness.Pinning`` that
    moves them and this process (so the clients and limit tools it starts)
    between the --pin modes.  This process's CPUs are restored at the end."""
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        with NginxServer(tls=True) as nginx, StreamServer() as stream:
            harness.check_server(nginx.url("/json"))
            yield nginx, stream, harness.Pinning([nginx.proc.pid, stream.proc.pid])
    finally:
        if allowed:
            harness.set_affinity(allowed)


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

    def limit(self, scenario: Scenario, tool: str) -> dict:
        url = self.nginx.url(scenario.path, scenario.server)
        if tool in limits.LIBCURL_CS:
            args = (scenario.concurrency, self.args.seconds, self.args.warmup, scenario.expect_len)
            return limits.libcurl_c(url, *args, bundled=tool == limits.LIBCURL_C_BUNDLED)
        if tool == "h2load":
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
        """One run of a client, of a transport or of a limit tool."""
        if member in scenario.limits:
            try:
                return self.limit(scenario, member)
            except BenchError as exc:
                return {"error": str(exc).strip().splitlines()[-1]}
        if scenario.transports:
            task = {**task, "transport": member, "client": f"httpx over {member}'s transport"}
            return self.worker(peers.TRANSPORTS_PEER, task, timeout)
        return self.worker(member, task, timeout)

    def run_scenario(self, scenario: Scenario, pin: str, pinning: str) -> dict:
        """Every client and limit tool in rounds, in the --pin mode ``pin``
        (already applied; ``pinning`` describes it)."""
        self.loads.append(load_average())
        if scenario.transports:
            clients, skipped = self.transports_for(scenario)
        else:
            clients, skipped = self.clients_for(scenario)
        members = clients + list(scenario.limits)
        label = f"{scenario.key} [{harness.PIN_LABELS[pin]}]"
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
                    print(f"  {label:<32} {member:<14} FAILED: {result['error']}")
                    continue
                runs[member].append(result)
                print(f"  {label:<32} {member:<14} {result['rps']:>11,.0f} req/s", flush=True)
        return {
            **scenario.__dict__,
            "pin": pin,
            "pinning": pinning,
            "load": self.loads[-1],
            "gather": task["n"],
            "limit_tool": scenario.limit_tool,
            "limits": list(scenario.limits),
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

    def run_stream(self, stream: Stream, pin: str, pinning: str) -> dict:
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
            "pin": pin,
            "pinning": pinning,
            "load": self.loads[-1],
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
    the same key and --pin mode in place; each carries its own run's meta
    (``run``).  The header of ``old`` stays: it describes the run the other
    figures are from.  Records of a results.json older than --pins get the
    one mode of their run written into them."""
    meta = old["meta"]
    for part in ("scenarios", "streams"):
        for item in old[part]:
            item["pin"] = harness.pin_of(item, meta)
    meta.setdefault("pins", {harness.pin_of({}, meta): meta["pinning"]})
    for pin, described in new["meta"]["pins"].items():
        meta["pins"].setdefault(pin, described)
    run = {key: new["meta"][key] for key in RUN_KEYS}
    if WEBSOCKET in new:
        old[WEBSOCKET] = {**new[WEBSOCKET], "run": run}
    for part in ("scenarios", "streams"):
        fresh = {(item["key"], item["pin"]): {**item, "run": run} for item in new[part]}
        old[part] = [fresh.pop((item["key"], item["pin"]), item) for item in old[part]]
        old[part] += list(fresh.values())
    meta["peers"].update(new["meta"]["peers"])
    return old


def run_websocket(args) -> dict:
    """websocket.py's figures (its own server and rounds, the first --pins mode),
    or {"error": ...}."""
    print(f"\n{WEBSOCKET} [{harness.PIN_LABELS[args.pins[0]]}]", flush=True)
    out = HERE / ".run" / "websocket.json"
    out.unlink(missing_ok=True)
    argv = [sys.executable, str(HERE / "websocket.py"), "--pin", args.pins[0], "--no-snapshot"]
    argv += ["--quick"] if args.quick else ["--rounds", str(args.rounds)]
    proc = subprocess.run([*argv, "--json", str(out)])
    if proc.returncode != 0 or not out.exists():
        return {"error": f"websocket.py exited with status {proc.returncode}"}
    return json.loads(out.read_text(encoding="utf-8"))


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
    if peers.SYSLIB_PEER in args.clients:
        print("building the engine against the system libcurl (requestx-syslib) ...", flush=True)
        try:
            meta["requestx_syslib"] = peers.snapshot_requestx_syslib()
        except RuntimeError as exc:  # the peer is then reported as failed
            print(f"warning: {exc}")
            meta["requestx_syslib"] = {"error": str(exc)}
        if meta["requestx_syslib"].get("stale"):
            print(
                "warning: the engine's sources changed after the in-place engine was built ("
                + ", ".join(meta["requestx_syslib"]["stale"])
                + "): the two engines may differ in more than libcurl"
            )
    print("preparing the clients' virtualenvs ...", flush=True)
    status = peers.prepare(args.clients)
    report_python = peers.python_of(REPORT_VENV)
    report_error = peers.install(REPORT_VENV)
    scenarios = [s for s in SCENARIOS if s.key in args.scenarios]
    if peers.TRANSPORTS_PEER not in args.clients:
        scenarios = [s for s in scenarios if not s.transports]
    streams = [s for s in STREAMS if s.key in args.scenarios]
    for tool in limits.LIBCURL_CS:
        if any(tool in s.limits for s in scenarios):
            try:
                limits.build_multi_get(bundled=tool == limits.LIBCURL_C_BUNDLED)
            except BenchError as exc:  # the limit line is then reported as failed
                print(f"warning: no {tool} limit: {exc}")
    results, stream_results, meta["pins"] = [], [], {}
    with servers() as (nginx, stream_server, pinning):
        meta["nginx"] = nginx_version(nginx.nginx)
        runner = Runner(status, nginx, stream_server, args)
        for scenario in scenarios:
            for pin in pins_for(args, scenario.key):
                described = pinning.apply(pin)
                meta["pins"].setdefault(pin, described)
                results.append(runner.run_scenario(scenario, pin, described))
        for stream in streams:
            pin = args.pins[0]
            described = pinning.apply(pin)
            meta["pins"].setdefault(pin, described)
            stream_results.append(runner.run_stream(stream, pin, described))
    websocket = run_websocket(args) if WEBSOCKET in args.scenarios else None
    meta["pinning"] = meta["pins"].get(args.pins[0], "")
    meta["load_after"] = load_average()
    meta["load_during"] = [min(runner.loads, default=0), max(runner.loads, default=0)]
    meta["duration_s"] = round(time.monotonic() - started, 1)
    meta["peers"] = {
        name: {k: v for k, v in info.items() if k != "python"} for name, info in status.items()
    }
    args.output.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "scenarios": results, "streams": stream_results}
    if websocket:
        data[WEBSOCKET] = websocket
    results_path = args.output / "results.json"
    if args.merge and results_path.exists():
        data = merged(json.loads(results_path.read_text(encoding="utf-8")), data)
    results_path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    print(f"\nresults in {harness.display_path(results_path)} ({meta['duration_s']:.0f}s)")
    python = sys.executable if report_error else str(report_python)
    if report_error:
        print(f"warning: no charts, matplotlib could not be installed: {report_error}")
    docs = ["--docs", str(args.docs)] if args.docs else []
    return subprocess.run([python, str(HERE / "report.py"), str(results_path), *docs]).returncode


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
