"""The clients compared, and a virtualenv of its own for each.

Every peer is pip-installed into ``benchmarks/.run/venvs/<name>/`` (git-ignored),
so no two peers share dependencies and none of them lands in the project's
``.venv``.  requestx itself runs from ``.venv`` (``make build``), from a copy of
the built package taken when the benchmark starts (see ``snapshot_requestx``),
so that a rebuild by someone else during the run cannot change what is measured.
The httpx-transports peer (httpx with four transports, requestx's among them)
imports requestx from the same copy.  The requestx-syslib peer imports it from
a second copy, identical but for its ``_engine*.so``: built aside, once per run,
against the system libcurl (``REQUESTX_LIBCURL=system setup.py build_ext``
into ``.run/syslib-build/``; see ``snapshot_requestx_syslib``), so the bundled
libcurl and the system one are compared in the same run.

Every peer that works also has its RSS measured right after its import
(``import_rss.py``: a fresh interpreter, its adapter and so its library
imported, nothing else done).

A peer that cannot be installed here is not dropped: ``prepare`` returns the
reason ("not installable: ...") and the report prints it.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENVS = HERE / ".run" / "venvs"
SNAPSHOT = HERE / ".run" / "requestx-snapshot"
SYSLIB_SNAPSHOT = HERE / ".run" / "requestx-syslib-snapshot"
SYSLIB_BUILD = HERE / ".run" / "syslib-build"
DEV_PYTHON = ROOT / ".venv" / "bin" / "python"
WORKLOAD = HERE / "workload.py"
IMPORT_RSS = HERE / "import_rss.py"
IMPORT_RSS_RUNS = 3  # fresh processes per peer; the median is reported


@dataclass(frozen=True)
class Peer:
    name: str
    adapter: str | None  # module in adapters/; None: no adapter could be written
    requirements: tuple = ()  # pip requirements of its venv; () = the project's .venv
    pip_options: tuple = ()
    note: str = ""  # said in the report, beside the version
    scenarios: tuple = field(default=())  # only these (empty: all it supports)
    with_requestx: bool = False  # imports requestx from the run's snapshot
    syslib: bool = False  # ... from the snapshot whose engine links the system libcurl
    variant: bool = False  # requestx itself, set up or built otherwise (not "another client")


# Where the engine on the system libcurl is measured beside the bundled one.
SYSLIB_SCENARIOS = ("seq", "threads8", "async64", "https", "http2", "get_100k")
SYSLIB_PEER = "requestx-syslib"

PEERS = (
    Peer(
        "requestx",
        "requestx",
        note="this repository, C over the bundled libcurl 8.21",
        with_requestx=True,
    ),
    Peer(
        "requestx-syslib",
        "requestx",
        note="this repository's engine linked against the system libcurl 7.88",
        scenarios=SYSLIB_SCENARIOS,
        with_requestx=True,
        syslib=True,
        variant=True,
    ),
    Peer(
        "requestx-retry",
        "requestx_retry",
        note="requestx with a Retry configured (never used: the answers are 200s)",
        scenarios=("seq", "async64"),
        with_requestx=True,
        variant=True,
    ),
    Peer(
        "requestx-breaker",
        "requestx_breaker",
        note="requestx with a CircuitBreaker consulted on every request",
        scenarios=("seq", "async64"),
        with_requestx=True,
        variant=True,
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
        note="pycurl built against the system libcurl 7.88 (the one requestx-syslib links)",
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
                    "variant": peer.variant,
                    **import_rss(peer),
                }
        print(f"  {peer.name:<16} {status[peer.name].get('version') or status[peer.name]['error']}")
    _check_syslib(status)
    return status


def _check_syslib(status: dict) -> None:
    """The requestx-syslib peer is an error unless its engine reports another
    libcurl than the requestx peer's (both would measure the same engine)."""
    ours, other = status.get("requestx", {}), status.get(SYSLIB_PEER, {})
    if "version" not in other:
        return
    if not SYSLIB_SNAPSHOT.exists():
        status[SYSLIB_PEER] = {"error": "no engine built against the system libcurl"}
    elif other["version"] == ours.get("version"):
        status[SYSLIB_PEER] = {
            "error": f"its engine reports the same libcurl as requestx's ({other['version']}): "
            "nothing to compare"
        }


def import_rss(peer: Peer) -> dict:
    """RSS after importing the peer's adapter (its library) in a fresh
    interpreter: {"import_rss_mb", "bare_rss_mb"} (medians of IMPORT_RSS_RUNS
    processes), or {"import_rss_error"}."""
    from harness import last_json_line

    cmd = [str(python_of(peer)), str(IMPORT_RSS), peer.adapter]
    found = []
    for _ in range(IMPORT_RSS_RUNS):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=worker_env(peer))
        result = last_json_line(proc.stdout)
        if result is None or "error" in result:
            reason = (result or {}).get("error") or proc.stderr.strip()[-300:]
            return {"import_rss_error": reason or f"exit {proc.returncode}"}
        found.append(result)
    return {
        "import_rss_mb": statistics.median(r["after_mb"] for r in found),
        "bare_rss_mb": statistics.median(r["before_mb"] for r in found),
    }


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


def replace_engine(package: Path, engine: Path) -> None:
    """Put ``engine`` in place of the ``_engine*.so`` of the requestx
    package directory ``package``."""
    for old in package.glob("_engine*.so"):
        old.unlink()
    shutil.copy2(engine, package / engine.name)


def build_syslib_engine(build_dir: Path = SYSLIB_BUILD) -> Path:
    """The engine built aside against the system libcurl, from the sources in
    the tree now (``REQUESTX_LIBCURL=system setup.py build_ext --force`` with
    its objects and library under ``build_dir``; the in-place engine is not
    touched).  Returns the path of the ``.so``."""
    lib = build_dir / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    cmd = [str(DEV_PYTHON), "setup.py", "-q", "build_ext", "--force"]
    cmd += ["--build-temp", str(build_dir / "temp"), "--build-lib", str(lib)]
    env = dict(os.environ, REQUESTX_LIBCURL="system")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    built = sorted((lib / "requestx").glob("_engine*.so"))
    if proc.returncode != 0 or not built:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise RuntimeError(f"building the engine on the system libcurl failed: {' / '.join(tail)}")
    return built[0]


def _engine_sources_newer_than(engine: Path) -> list:
    """The engine's sources changed after ``engine`` was built."""
    sources = [*(ROOT / "requestx" / "_engine").glob("*.[ch]"), ROOT / "setup.py"]
    mtime = engine.stat().st_mtime
    return sorted(str(p.relative_to(ROOT)) for p in sources if p.stat().st_mtime > mtime)


def snapshot_requestx_syslib() -> dict:
    """After ``snapshot_requestx``: a second copy of the snapshot with the
    engine built against the system libcurl (the requestx-syslib peer's).
    Returns what the report says about it: {"engine": path, "stale": [...]}
    -- ``stale``: sources changed after the in-place engine was built, so the
    two engines may not be built from the same code."""
    in_place = sorted((SNAPSHOT / "requestx").glob("_engine*.so"))
    if not in_place:
        raise RuntimeError("no snapshot of requestx to copy (snapshot_requestx first)")
    stale = _engine_sources_newer_than(next((ROOT / "requestx").glob("_engine*.so")))
    engine = build_syslib_engine()
    shutil.rmtree(SYSLIB_SNAPSHOT, ignore_errors=True)
    shutil.copytree(SNAPSHOT / "requestx", SYSLIB_SNAPSHOT / "requestx")
    replace_engine(SYSLIB_SNAPSHOT / "requestx", engine)
    return {"engine": str(engine.relative_to(ROOT)), "stale": stale}


def worker_env(peer: Peer) -> dict:
    """The environment of the peer's workers: requestx from the snapshot (the
    syslib one for the requestx-syslib peer)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    snapshot = SYSLIB_SNAPSHOT if peer.syslib else SNAPSHOT
    if peer.with_requestx and snapshot.exists():
        env["PYTHONPATH"] = str(snapshot)
    return env
