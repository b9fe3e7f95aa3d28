"""What the benchmark's parent process and its workers share.

bench.py runs every measurement in a fresh worker process (workload.py, in
the client's own virtualenv) and collects the results; what both sides need
lives here:

- worker side: ``BenchError``, ``worker_reply`` (the result as one JSON line);
- parent side: ``worker_result`` (read that line), ``rotated`` (the order of
  the clients in a round);
- CPU pinning: ``plan_cpus``, ``set_affinity``, ``Pinning`` (switches the
  servers and the clients between --pin modes), ``pin_of``; ``check_server``;
- the report's header: ``machine_description``, ``utc_timestamp``,
  ``display_path``.

Workers measure their own peak RSS and import this module, so it imports at
the top only modules such a worker has loaded anyway (json, os, sys,
pathlib); the others are imported in the functions that use them.
"""

from __future__ import annotations

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
# Parent side: rounds.
# ---------------------------------------------------------------------------


def rotated(members: list, round_no: int) -> list:
    """The order of the clients in a round: each round starts one further on."""
    shift = round_no % len(members)
    return members[shift:] + members[:shift]


# ---------------------------------------------------------------------------
# CPU pinning, and a check of the server
# ---------------------------------------------------------------------------


PIN_MODES = ("split", "same", "none")
# How the report names the modes.
PIN_LABELS = {"split": "pinned", "same": "one CPU", "none": "unpinned"}


def set_affinity(cpus: set, pid: int = 0) -> bool:
    try:
        os.sched_setaffinity(pid, cpus)
        return True
    except OSError as exc:
        who = f" {pid}" if pid else ""
        print(f"warning: could not pin{who} to CPUs {sorted(cpus)}: {exc}", file=sys.stderr)
        return False


def _threads_of_tree(pid: int) -> list:
    """The thread ids of process ``pid`` and of all its descendants (Linux /proc)."""
    children: dict = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        process = todo.pop()
        todo += children.get(process, [])
        try:
            found += [int(task.name) for task in Path(f"/proc/{process}/task").iterdir()]
        except OSError:
            continue
    return found


def pin_tree(pid: int, cpus: set) -> bool:
    """Every thread of process ``pid`` and of its descendants on ``cpus`` (threads
    and processes they start later inherit it); False if one could not be moved."""
    ok = True
    for tid in _threads_of_tree(pid):
        try:
            os.sched_setaffinity(tid, cpus)
        except ProcessLookupError:
            pass  # ended meanwhile
        except OSError as exc:
            print(f"warning: could not pin {tid} to CPUs {sorted(cpus)}: {exc}", file=sys.stderr)
            ok = False
    return ok


def plan_cpus(mode: str, allowed: set | None = None) -> tuple:
    """(CPUs for nginx, CPUs for the clients, description) for a --pin mode;
    ``allowed``: the CPUs to choose from (default: this process's).

    Sequential request/response is a ping-pong between two processes.  Left to
    the scheduler, each run lands on a different CPU layout and results swing
    by 2x on small VMs; sharing one CPU is the most repeatable setup.
    """
    if mode == "none" or not hasattr(os, "sched_getaffinity"):
        return None, None, "none (scheduler decides)"
    allowed = sorted(allowed or os.sched_getaffinity(0))
    if mode == "split" and len(allowed) >= 2:
        server, client = allowed[0], allowed[-1]
        return {server}, {client}, f"nginx on CPU {server}, clients and limit tools on CPU {client}"
    cpu = allowed[-1]
    note = " (split needs 2 CPUs)" if mode == "split" else ""
    return {cpu}, {cpu}, f"nginx, clients and limit tools all on CPU {cpu}{note}"


class Pinning:
    """Moves the servers (process trees) and this process, whose children are the
    clients and limit tools, between the --pin modes during one run."""

    def __init__(self, server_pids: list) -> None:
        self.server_pids = server_pids
        self.allowed = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None

    def apply(self, mode: str) -> str:
        """Pin for ``mode``; returns the description the report prints."""
        server_cpus, client_cpus, description = plan_cpus(mode, self.allowed)
        if self.allowed is None:
            return description
        servers_ok = all(pin_tree(pid, server_cpus or self.allowed) for pid in self.server_pids)
        if not servers_ok or not set_affinity(client_cpus or self.allowed):
            set_affinity(self.allowed)
            for pid in self.server_pids:
                pin_tree(pid, self.allowed)
            return "none (could not set CPU affinity)"
        return description


def pin_of(item: dict, meta: dict) -> str:
    """The --pin mode a scenario's figures were measured in.  results.json from
    before --pins has one mode for everything, named only in meta["pinning"]."""
    if "pin" in item:
        return item["pin"]
    if meta.get("pins"):
        return next(iter(meta["pins"]))
    pinning = meta.get("pinning", "")
    if pinning.startswith("none"):
        return "none"
    return "same" if pinning.startswith("nginx, clients and") else "split"


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
