"""The benchmark harness that bench_sync.py and bench_async.py share.

Both scripts run each Python client in a fresh subprocess of themselves (the
worker side) and collect the results in the parent, which starts the private
nginx (servers.py), pins the CPUs, runs wrk as the practical limit, renders a
markdown report and writes it to benchmarks/results/.  What they do alike
lives here:

- worker side: ``BenchError``, ``requestx_version``, ``worker_reply`` (one JSON
  line to the parent);
- parent side: ``worker_result`` (read that line), ``run_main`` (exit status,
  signals), ``add_run_options`` (the shared command-line options),
  ``parse_clients``, ``check_missing``, ``rotated`` (interleaved rounds);
- wrk: ``find_wrk``, ``probe_wrk``, ``parse_wrk``;
- nginx and CPU pinning: ``plan_cpus``, ``set_affinity``, ``pinned_nginx``,
  ``check_server``;
- the report: ``fmt_int``, ``fmt_ratio``, ``cpu_model``,
  ``machine_description``, ``utc_timestamp``, ``publish``.

bench_async.py's workers measure their own peak RSS and import this module,
so it imports at the top only modules such a worker has loaded anyway
(contextlib, json, os, sys, pathlib); the others (and servers.py) are
imported in the functions that use them.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path


class BenchError(Exception):
    """A problem that should end the benchmark with a clear message."""


# ---------------------------------------------------------------------------
# Worker <-> parent: the worker prints its result as one JSON line.
# ---------------------------------------------------------------------------


def worker_reply(compute, *args) -> int:
    """Worker side: print ``compute(*args)`` as one JSON line, or
    ``{"error": ...}`` if it raised; returns the worker's exit status."""
    try:
        result = compute(*args)
    except BenchError as exc:
        print(json.dumps({"error": str(exc)}))
        return 3
    except Exception as exc:  # report import errors etc. to the parent
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 3
    print(json.dumps(result))
    return 0


def requestx_version(needs: str) -> str:
    """Worker side: requestx's version; BenchError if the requestx found has
    no ``needs`` (Session, AsyncSession), i.e. is not the built package."""
    import requestx

    if not hasattr(requestx, needs):
        raise BenchError(
            f"requestx was found at {getattr(requestx, '__path__', '?')} but has no "
            f"{needs} -- is the package built and installed (pip install -e .)?"
        )
    return getattr(requestx, "__version__", "?")


def last_json_line(text: str):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def worker_result(argv: list, returncode: int, stdout: str, stderr: str) -> dict:
    """Parent side: the JSON result a worker run with ``argv`` printed;
    BenchError with the end of its output if there is none."""
    data = last_json_line(stdout)
    if data is None:
        detail = (stderr or stdout).strip()[-2000:]
        raise BenchError(
            f"subprocess failed (exit {returncode}): {' '.join(argv)}\n{detail}".rstrip()
        )
    return data


# ---------------------------------------------------------------------------
# Parent side: command line, clients, rounds.
# ---------------------------------------------------------------------------


def add_run_options(parser, default_output: Path) -> None:
    """--max-seconds, --quick, --output, --no-output and --check."""
    parser.add_argument(
        "--max-seconds", type=float, default=60.0, help="time limit for one timed run"
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: 1 round, 1/10 the work")
    parser.add_argument("--output", type=Path, default=default_output, help="markdown file")
    parser.add_argument("--no-output", action="store_true", help="do not write the markdown file")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")


def run_main(run_benchmark, args) -> int:
    """Run the parent side; exit status: run_benchmark's, 2 on BenchError or
    a nginx problem, 130 on Ctrl-C (SIGTERM counts as Ctrl-C)."""
    from servers import ServerError, raise_on_sigterm

    raise_on_sigterm()
    try:
        return run_benchmark(args)
    except BenchError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    except ServerError as exc:
        print(f"\nerror: nginx: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def parse_clients(text: str, choices) -> list:
    """The clients named in a --clients value, without repeats."""
    clients = [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in clients if c not in choices]
    if unknown or not clients:
        raise BenchError(
            f"unknown client(s) {', '.join(unknown) or '(none)'}; choose from {','.join(choices)}"
        )
    return list(dict.fromkeys(clients))


def check_missing(missing: list, example: str) -> None:
    """BenchError listing every missing client, if there is one."""
    if missing:
        raise BenchError(
            "missing or broken clients:\n  "
            + "\n  ".join(missing)
            + f"\n(use --clients to benchmark a subset, e.g. --clients {example})"
        )


def rotated(members: list, round_no: int) -> list:
    """The order of the clients in a round: each round starts one further on."""
    shift = round_no % len(members)
    return members[shift:] + members[:shift]


# ---------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------


def find_wrk():
    import shutil

    return shutil.which("wrk") or ("/usr/bin/wrk" if os.access("/usr/bin/wrk", os.X_OK) else None)


def probe_wrk(versions: dict, missing: list) -> None:
    """Add wrk's version to ``versions``, or a line to ``missing``."""
    import re
    import subprocess

    wrk = find_wrk()
    if wrk is None:
        missing.append("wrk: not found on PATH (apt-get install -y wrk)")
        return
    out = subprocess.run(
        [wrk, "-v"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    match = re.search(r"wrk\s+(\S+)", out)
    versions["wrk"] = match.group(1) if match else "?"


def parse_wrk(returncode: int, out: str) -> dict:
    """{"requests", "seconds", "rps", "truncated"} from wrk's exit status and
    output; BenchError if it failed or saw errors."""
    import re

    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if returncode != 0 or not match or not total:
        raise BenchError(f"wrk failed (exit {returncode}):\n{out.strip()}")
    if "Non-2xx" in out or "Socket errors" in out:
        raise BenchError(f"wrk saw errors:\n{out.strip()}")
    secs = float(total.group(2)) / (1000.0 if total.group(3) == "ms" else 1.0)
    return {
        "requests": int(total.group(1)),
        "seconds": secs,
        "rps": float(match.group(1)),
        "truncated": False,
    }


# ---------------------------------------------------------------------------
# nginx and CPU pinning
# ---------------------------------------------------------------------------


def set_affinity(cpus: set) -> bool:
    try:
        os.sched_setaffinity(0, cpus)
        return True
    except OSError as exc:
        print(f"warning: could not pin to CPUs {sorted(cpus)}: {exc}", file=sys.stderr)
        return False


def plan_cpus(mode: str) -> tuple:
    """(CPUs for nginx, CPUs for the clients, description) for a --pin mode.

    Sequential request/response is a ping-pong between two processes.  Left to
    the scheduler, each run lands on a different CPU layout and results swing
    by 2x on small VMs; sharing one CPU is the most repeatable setup.
    """
    if mode == "none" or not hasattr(os, "sched_getaffinity"):
        return None, None, "none (scheduler decides)"
    allowed = sorted(os.sched_getaffinity(0))
    if mode == "split" and len(allowed) >= 2:
        server, client = allowed[0], allowed[-1]
        return {server}, {client}, f"nginx on CPU {server}, clients and wrk on CPU {client}"
    cpu = allowed[-1]
    note = " (split needs 2 CPUs)" if mode == "split" else ""
    return {cpu}, {cpu}, f"nginx, clients and wrk all on CPU {cpu}{note}"


@contextlib.contextmanager
def pinned_nginx(pin: str):
    """Start the private nginx on the CPUs ``--pin`` gives it, pin this
    process (and so the clients and wrk it starts) to theirs, check the body
    nginx serves and say so; yields (server, url of /json, nginx version,
    pinning description) and stops nginx at the end."""
    from servers import JSON_BODY_BYTES, NginxServer, nginx_version

    server_cpus, client_cpus, pinning = plan_cpus(pin)
    # Child processes inherit our CPU affinity: set it for nginx, then for the clients.
    if server_cpus and not set_affinity(server_cpus):
        server_cpus, client_cpus, pinning = None, None, "none (could not set CPU affinity)"
    with NginxServer() as nginx:
        if client_cpus:
            set_affinity(client_cpus)
        nginx_ver = nginx_version(nginx.nginx)
        url = nginx.url("/json")
        check_server(url)
        print(f"nginx {nginx_ver} at {url} ({len(JSON_BODY_BYTES)}-byte body)", flush=True)
        print(f"CPU pinning: {pinning}", flush=True)
        yield nginx, url, nginx_ver, pinning


def check_server(url: str) -> None:
    import urllib.request

    from servers import JSON_BODY_BYTES

    with urllib.request.urlopen(url, timeout=5) as resp:
        body = resp.read()
        if resp.status != 200 or body != JSON_BODY_BYTES:
            raise BenchError(f"nginx served status {resp.status} with body {body[:200]!r}")


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def cpu_model() -> str:
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description() -> str:
    """CPU model, CPU count, OS and Python version, for the report."""
    import platform

    return (
        f"{cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def utc_timestamp() -> str:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def publish(report: str, all_met: bool, args) -> int:
    """Print the report, write it to --output (unless --no-output); the exit
    status: 1 if --check and a target was missed, else 0."""
    print(report)
    if not args.no_output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")
        print(f"written to {display_path(args.output)}")
    if args.check and not all_met:
        print("error: requestx missed a performance target", file=sys.stderr)
        return 1
    return 0
