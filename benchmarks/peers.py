"""The clients compared, and a virtualenv of its own for each.

Every peer is pip-installed into ``benchmarks/.run/venvs/<name>/`` (git-ignored),
so no two peers share dependencies and none of them lands in the project's
``.venv``.  requestx itself runs from ``.venv`` (``make build``), from a copy of
the built package taken when the benchmark starts (see ``snapshot_requestx``),
so that a rebuild by someone else during the run cannot change what is measured.
The httpx-transports peer (httpx with four transports, requestx's among them)
imports requestx from the same copy.

A peer that cannot be installed here is not dropped: ``prepare`` returns the
reason ("not installable: ...") and the report prints it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENVS = HERE / ".run" / "venvs"
SNAPSHOT = HERE / ".run" / "requestx-snapshot"
DEV_PYTHON = ROOT / ".venv" / "bin" / "python"
WORKLOAD = HERE / "workload.py"


@dataclass(frozen=True)
class Peer:
    name: str
    adapter: str | None  # module in adapters/; None: no adapter could be written
    requirements: tuple = ()  # pip requirements of its venv; () = the project's .venv
    pip_options: tuple = ()
    note: str = ""  # said in the report, beside the version
    scenarios: tuple = field(default=())  # only these (empty: all it supports)
    with_requestx: bool = False  # imports requestx from the run's snapshot


PEERS = (
    Peer(
        "requestx",
        "requestx",
        note="this repository, C over the system libcurl",
        with_requestx=True,
    ),
    Peer(
        "requestx-retry",
        "requestx_retry",
        note="requestx with a Retry configured (never used: the answers are 200s)",
        scenarios=("seq", "async64"),
        with_requestx=True,
    ),
    Peer(
        "requestx-breaker",
        "requestx_breaker",
        note="requestx with a CircuitBreaker consulted on every request",
        scenarios=("seq", "async64"),
        with_requestx=True,
    ),
    Peer(
        "requestx-stats",
        "requestx_stats",
        note="requestx with stats=True (the engine's aggregates on every request)",
        scenarios=("seq", "async64"),
        with_requestx=True,
    ),
    Peer(
        "requestx-otel",
        "requestx_otel",
        note="requestx traced by RequestxInstrumentor (SDK providers, nothing exported)",
        scenarios=("seq", "async64"),
        with_requestx=True,
    ),
    Peer("requests", "requests", ("requests",)),
    Peer("urllib3", "urllib3", ("urllib3",)),
    Peer("httpx", "httpx", ("httpx[http2]", "httpx-sse", "uvloop")),
    Peer("aiohttp", "aiohttp", ("aiohttp", "uvloop")),
    Peer("pycurl", "pycurl", ("pycurl",), note="PyPI wheel, bundles its own libcurl"),
    Peer(
        "pycurl-syslib",
        "pycurl",
        ("pycurl",),
        ("--no-binary", "pycurl"),
        note="pycurl built against the system libcurl that requestx links",
        scenarios=("seq",),
    ),
    Peer("curl_cffi", "curl_cffi", ("curl_cffi", "uvloop")),
    Peer("pyreqwest", "pyreqwest", ("pyreqwest", "uvloop")),
    Peer("wreq", "wreq", ("wreq", "uvloop"), note="the Python package formerly named rnet"),
    Peer("niquests", "niquests", ("niquests", "uvloop")),
    Peer("httpr", "httpr", ("httpr", "uvloop")),
    Peer(
        "requestx-pypi",
        None,
        ("requestx",),
        note="the unrelated Rust-based requestx on PyPI (same import name, own venv)",
    ),
    Peer(
        "httpx-transports",
        "httpx_transports",
        ("httpx", "httpx-aiohttp", "pyreqwest", "uvloop"),
        note="httpx over its own, httpx-aiohttp's, pyreqwest's and requestx's transports, "
        "in one venv (requestx from this repository)",
        scenarios=("httpx_transports", "httpx_transports_sync"),
        with_requestx=True,
    ),
)
BY_NAME = {peer.name: peer for peer in PEERS}
# The peer that runs the transport scenarios (scenarios.py), one worker per transport.
TRANSPORTS_PEER = "httpx-transports"


def python_of(peer: Peer) -> Path:
    return DEV_PYTHON if not peer.requirements else VENVS / peer.name / "bin" / "python"


def _pip_failure(output: str) -> str:
    """A one-line reason from pip's output."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if any("crates.io" in line for line in lines):
        return (
            "PyPI has no wheel for this platform (Python "
            f"{sys.version_info.major}.{sys.version_info.minor}, Linux x86_64) and building the "
            "source distribution needs Rust crates from crates.io, which this machine cannot reach"
        )
    errors = [line for line in lines if line.lower().startswith("error")]
    return errors[-1] if errors else (lines[-1] if lines else "pip failed")


def install(peer: Peer) -> str | None:
    """Create the peer's venv and install its requirements (only when they
    changed since the last run); None on success, else the reason."""
    venv = VENVS / peer.name
    stamp = venv / ".installed.json"
    wanted = json.dumps([peer.requirements, peer.pip_options])
    if stamp.exists() and stamp.read_text() == wanted and python_of(peer).exists():
        return None
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python_of(peer)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    proc = subprocess.run(
        [*pip, *peer.pip_options, *peer.requirements], capture_output=True, text=True
    )
    if proc.returncode != 0:
        return _pip_failure(proc.stdout + proc.stderr)
    stamp.write_text(wanted)
    return None


def probe(peer: Peer) -> dict:
    """{"version": ...} from the peer's own interpreter, or {"error": ...}."""
    from harness import last_json_line

    cmd = [str(python_of(peer)), str(WORKLOAD), peer.adapter, json.dumps({"probe": True})]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=worker_env(peer))
    return last_json_line(proc.stdout) or {"error": proc.stderr.strip()[-500:]}


def prepare(names: list) -> dict:
    """name -> {"python", "adapter", "version", "note"} for the peers that work,
    or {"error": "not installable: ..."} / {"error": "..."} for the others."""
    peers = [BY_NAME[name] for name in names]
    VENVS.mkdir(parents=True, exist_ok=True)
    to_install = [peer for peer in peers if peer.requirements]
    print(f"virtualenvs under {VENVS.relative_to(ROOT)}: " + ", ".join(p.name for p in to_install))
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = dict(zip([p.name for p in to_install], pool.map(install, to_install)))
    status = {}
    for peer in peers:
        if failures.get(peer.name):
            status[peer.name] = {"error": f"not installable: {failures[peer.name]}"}
        elif peer.adapter is None:
            status[peer.name] = {"error": "installed, but no adapter is written for it yet"}
        else:
            found = probe(peer)
            if "error" in found:
                status[peer.name] = {"error": f"installed, but import failed: {found['error']}"}
            else:
                status[peer.name] = {
                    **found,
                    "python": str(python_of(peer)),
                    "adapter": peer.adapter,
                    "note": peer.note,
                    "only": list(peer.scenarios),
                }
        print(f"  {peer.name:<16} {status[peer.name].get('version') or status[peer.name]['error']}")
    return status


def snapshot_requestx() -> str:
    """Copy the built requestx package to benchmarks/.run/ (workers import it
    from there); returns the commit it was built from, for the report."""
    if not any((ROOT / "requestx").glob("_engine*.so")):
        raise RuntimeError("requestx's engine is not built: run `make build` first")
    shutil.rmtree(SNAPSHOT, ignore_errors=True)
    shutil.copytree(
        ROOT / "requestx", SNAPSHOT / "requestx", ignore=shutil.ignore_patterns("_engine")
    )
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "describe", "--always"], capture_output=True, text=True)
    # "-dirty" when requestx's own files differ from the commit (not the benchmark's).
    changed = subprocess.run(
        [*git, "status", "--porcelain", "--", "requestx", "setup.py", "pyproject.toml"],
        capture_output=True,
        text=True,
    )
    return (head.stdout.strip() or "?") + ("-dirty" if changed.stdout.strip() else "")


def worker_env(peer: Peer) -> dict:
    """The environment of the peer's workers: requestx from the snapshot."""
    import os

    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if peer.with_requestx and SNAPSHOT.exists():
        env["PYTHONPATH"] = str(SNAPSHOT)
    return env
