#!/usr/bin/env python3
"""Run httpx's own test suite with requestx's transports as httpx's default
transports, and write RESULTS.md.

    .venv/bin/python compat/httpx_suite/run.py [--no-control] [--git-dir DIR] [-- PYTEST ARGS]

1. Gets the ``tests/`` and ``pyproject.toml`` of the installed httpx release
   into .work/ (not committed): from a git clone of encode/httpx when
   --git-dir or HTTPX_GIT_DIR names one (``git archive <version>``), else from
   the release's source distribution (pip download).
2. Installs into this interpreter's environment what the tests import and is
   missing (chardet, trio, uvicorn, h2, socksio, trustme, ...).
3. Runs pytest on those tests with httpx's own pytest settings (warnings are
   errors) and plugin/httpx_transport_swap.py, which puts requestx.HTTPTransport
   and requestx.AsyncHTTPTransport in place of httpx's (what Client builds by
   default, and what tests construct). Tests marked ``network`` are deselected.
4. Unless --no-control: runs the same tests with httpx's own transports, to
   tell failures of the environment or of httpx itself from ours.
5. Classifies every failure that does not also fail in the control run
   (known_failures.py) and writes RESULTS.md.

Exit status: 0 when every failure has a classification, 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Optional

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = HERE / ".work"
PLUGIN_DIR = HERE / "plugin"
RESULTS = HERE / "RESULTS.md"

sys.path.insert(0, str(HERE))
from known_failures import CATEGORIES, classify  # noqa: E402

# import name -> distribution: what httpx's tests import (its requirements.txt)
NEEDED = {
    "pytest": "pytest",
    "pytest_timeout": "pytest-timeout",
    "anyio": "anyio",
    "trustme": "trustme",
    "cryptography": "cryptography",
    "uvicorn": "uvicorn",
    "trio": "trio",
    "chardet": "chardet",
    "h2": "h2",
    "socksio": "socksio",
    "brotli": "brotli",
    "zstandard": "zstandard",
}

# Variables that redirect traffic or change trusted CAs (httpx's conftest
# clears most of them per test as well).
CLEARED_ENV = (
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
    "no_proxy", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE",
    "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PYTHONPATH",
)  # fmt: skip


def httpx_version() -> str:
    try:
        return importlib.metadata.version("httpx")
    except importlib.metadata.PackageNotFoundError:
        sys.exit(f"httpx is not installed in {sys.prefix}: pip install httpx")


# --------------------------------------------------------------------------
# Getting the tests and the tools


# What is taken from httpx's source tree.
MEMBERS = ("tests", "pyproject.toml")


def fetch_tests(version: str, git_dir: Optional[str]) -> Path:
    """httpx's tests of ``version`` in .work/httpx-<version>/ (fetched once)."""
    src = WORK / f"httpx-{version}"
    if all((src / member).exists() for member in MEMBERS):
        return src
    with tempfile.TemporaryDirectory() as tmp:
        fetch = _git_tree if git_dir else _sdist_tree
        tree = fetch(Path(tmp), version, git_dir)
        if tree is None:
            sys.exit(
                f"could not get httpx {version}'s tests: let pip reach the package index, pass "
                "--git-dir (or set HTTPX_GIT_DIR) to a clone of encode/httpx with that tag, "
                f"or put its {' and '.join(MEMBERS)} into {src}"
            )
        src.mkdir(parents=True, exist_ok=True)
        for member in MEMBERS:
            copy = shutil.copytree if (tree / member).is_dir() else shutil.copy
            copy(tree / member, src / member)
    return src


def _git_tree(tmp: Path, version: str, git_dir: Any) -> Optional[Path]:
    print(f"taking httpx {version}'s tests from {git_dir}")
    archive = tmp / "httpx.tar"
    git = ["git", "--git-dir", git_dir, "archive", "--output", str(archive), version, *MEMBERS]
    if subprocess.run(git).returncode != 0:
        return None
    shutil.unpack_archive(archive, tmp / "tree", filter="data")
    return tmp / "tree"


def _sdist_tree(tmp: Path, version: str, _: Any = None) -> Optional[Path]:
    print(f"downloading httpx {version}'s source distribution (pip download)")
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
    if subprocess.run([*pip, "-d", str(tmp), f"httpx=={version}"]).returncode != 0:
        return None
    for archive in tmp.glob("httpx-*.tar.gz"):
        shutil.unpack_archive(archive, tmp, filter="data")
        return tmp / f"httpx-{version}"
    return None


def install_missing() -> None:
    """pip install what httpx's tests import and this environment lacks."""
    wanted = sorted(dist for mod, dist in NEEDED.items() if not importlib.util.find_spec(mod))
    if wanted:
        print(f"installing into {sys.prefix}: {' '.join(wanted)}")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *wanted], check=True)
    if not importlib.util.find_spec("requestx"):
        sys.exit(f"requestx cannot be imported by {sys.executable}: run `make build` first")


def write_ini(src: Path, timeout: int) -> Path:
    """httpx's own [tool.pytest.ini_options] (warnings as errors, markers), plus
    a per-test time limit that raises in the test instead of ending the run."""
    options = tomllib.loads((src / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    lines = ["[pytest]", f"addopts = -p no:cacheprovider {options.get('addopts', '')}"]
    for key in ("filterwarnings", "markers"):
        values = options.get(key, [])
        lines.append(f"{key} =")
        lines.extend(f"    {value}" for value in values)
    lines += [f"timeout = {timeout}", "timeout_method = signal", ""]
    ini = WORK / "pytest.ini"
    ini.write_text("\n".join(lines))
    return ini


# --------------------------------------------------------------------------
# Running


def run_suite(label: str, src: Path, transport: str, timeout: int, extra: list[str]) -> dict:
    """One pytest run; outcomes read back from its JUnit XML report."""
    ini = write_ini(src, timeout)
    report = WORK / f"{label}.xml"
    log = WORK / f"{label}.log"
    report.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env["PYTHONPATH"] = str(PLUGIN_DIR)
    env["HTTPX_SUITE_TRANSPORT"] = transport
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    cmd = [
        sys.executable, "-m", "pytest", "tests", "-c", str(ini), "--rootdir", str(src),
        "-p", "httpx_transport_swap", "-m", "not network", "-q",
        f"--junitxml={report}", "-o", "junit_family=xunit1", *extra,
    ]  # fmt: skip
    started = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=src, env=env, stdout=out, stderr=subprocess.STDOUT)
    if not report.exists():
        sys.exit(f"[{label}] pytest wrote no report (exit status {proc.returncode}); see {log}")
    text = log.read_text(errors="replace")
    deselected = 0
    for line in text.splitlines()[-5:]:
        if " deselected" in line:
            deselected = int(line.split(" deselected")[0].split()[-1])
    return {
        "label": label,
        "results": read_junit(report, src),
        "deselected": deselected,
        "seconds": round(time.monotonic() - started, 1),
        "header": next((ln for ln in text.splitlines() if "transport under test" in ln), ""),
    }


def read_junit(report: Path, src: Path) -> dict[str, dict[str, str]]:
    """{node id: {"outcome", "message"}} from pytest's JUnit XML (xunit1)."""
    results = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        nodeid = _nodeid(case.get("classname", ""), case.get("name", ""), src)
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                message = child.get("message", "")
                break
            if child.tag == "skipped":
                xfail = child.get("type") == "pytest.xfail"
                outcome, message = ("xfailed" if xfail else "skipped"), child.get("message", "")
        if nodeid in results and results[nodeid]["outcome"] != "passed":
            continue  # a teardown error after a failure: keep the first
        results[nodeid] = {"outcome": outcome, "message": " ".join(message.split())[:300]}
    return results


def _nodeid(classname: str, name: str, src: Path) -> str:
    """tests.client.test_client[.TestX] + name -> tests/client/test_client.py[::TestX]::name"""
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        path = "/".join(parts[:cut]) + ".py"
        if (src / path).is_file():
            return "::".join([path, *parts[cut:], name])
    return f"{classname}::{name}"


def requestx_revision() -> str:
    """The checkout's commit, and whether requestx/ differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    commit = git("log", "-1", "--format=%h").strip() or "unknown"
    changed = git("status", "--porcelain", "--", "requestx").strip()
    return commit + (" with uncommitted changes in requestx/" if changed else "")


# --------------------------------------------------------------------------
# Reporting


def write_results(version: str, ours: dict, control: Optional[dict], partial: bool) -> int:
    results = ours["results"]
    control_results = (control or {}).get("results", {})
    counts = collections.Counter(r["outcome"] for r in results.values())
    control_counts = collections.Counter(r["outcome"] for r in control_results.values())
    broken = {n for n, r in results.items() if r["outcome"] in ("failed", "error")}
    also_in_control = {
        n for n in broken if control_results.get(n, {}).get("outcome") in ("failed", "error")
    }
    groups: dict[Any, list[str]] = collections.defaultdict(list)
    for nodeid in sorted(broken - also_in_control):
        groups[classify(nodeid, results[nodeid]["message"])].append(nodeid)
    per_category: dict[str, int] = collections.Counter()
    for cause, nodeids in groups.items():
        per_category[cause.category if cause else "?"] += len(nodeids)

    out: list[str] = []
    w = out.append
    w("# httpx's own test suite with requestx's transports\n")
    w(
        f"Generated by `compat/httpx_suite/run.py` from httpx {version}'s `tests/`, with "
        "`httpx.HTTPTransport` and `httpx.AsyncHTTPTransport` replaced by requestx's "
        "(`plugin/httpx_transport_swap.py`): every client the tests build without an explicit "
        "transport, and every transport they build by name, runs on the requestx engine. "
        "Do not edit by hand: rerun the script (causes live in `known_failures.py`).\n"
    )
    w(f"requestx: commit {ours.get('revision') or 'unknown'}.\n")
    if partial:
        w("**Partial run** (pytest arguments were given): only the selected tests are counted.\n")
    w("## Figures\n")
    w("| outcome | requestx transports | httpx's transports (control) |")
    w("| --- | ---: | ---: |")
    theirs = control_counts if control else collections.defaultdict(lambda: "-")
    for outcome in ("passed", "failed", "error", "skipped", "xfailed"):
        w(f"| {outcome} | {counts[outcome]} | {theirs[outcome]} |")
    w(f"| *tests run* | {len(results)} | {len(control_results) if control else '-'} |")
    deselected = (ours["deselected"], (control or {}).get("deselected", "-"))
    w(f"| *deselected (marked `network`)* | {deselected[0]} | {deselected[1]} |")
    w("")
    note = f" (control: {control_counts['passed']})" if control else ""
    w(f"**{counts['passed']} of {len(results)} tests pass** with requestx's transports{note}.")
    times = [f"{run['label']} {run['seconds']} s" for run in (ours, control) if run]
    w(f"Run time: {', '.join(times)}.\n")
    if also_in_control:
        n = len(also_in_control)
        w(f"{n} failures also fail with httpx's own transports here (not ours):\n")
        for nodeid in sorted(also_in_control):
            w(f"- `{nodeid}`: {control_results[nodeid]['message']}")
        w("")
    w("Other failures by category:\n")
    w("| category | tests |")
    w("| --- | ---: |")
    for cat, title in list(CATEGORIES.items()) + [("?", "unclassified")]:
        if cat != "?" or per_category[cat]:
            w(f"| ({cat}) {title} | {per_category[cat]} |")
    w("")
    w("## Failures by cause\n")
    for cause, nodeids in sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or ())):
        if cause is None:
            w("### (?) unclassified\n")
        else:
            w(f"### ({cause.category}) {cause.title}\n")
            w(f"{cause.diagnosis}\n")
        for nodeid in nodeids:
            w(f"- `{nodeid}`: {results[nodeid]['message']}")
        w("")
    RESULTS.write_text("\n".join(out))
    (WORK / "results.json").write_text(
        json.dumps({"version": version, "ours": ours, "control": control, "partial": partial})
    )
    print(f"requestx transports: {counts['passed']} passed of {len(results)}")
    if control:
        print(f"httpx's transports:  {control_counts['passed']} passed of {len(control_results)}")
    for cat, title in list(CATEGORIES.items()) + [("?", "unclassified")]:
        if per_category[cat]:
            print(f"  ({cat}) {title}: {per_category[cat]}")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 1 if per_category["?"] else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--git-dir",
        default=os.environ.get("HTTPX_GIT_DIR"),
        help="a git clone (or bare git directory) of encode/httpx to take the tests from",
    )
    parser.add_argument("--no-control", action="store_true", help="skip the control run")
    parser.add_argument("--timeout", type=int, default=60, help="seconds before a test is a hang")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite RESULTS.md from the last run (.work/results.json)",
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()

    if args.report_only:
        saved = json.loads((WORK / "results.json").read_text())
        return write_results(saved["version"], saved["ours"], saved["control"], saved["partial"])
    version = httpx_version()
    src = fetch_tests(version, args.git_dir)
    install_missing()
    print(f"running httpx {version}'s tests with requestx's transports ...")
    ours = run_suite("requestx", src, "requestx", args.timeout, args.pytest_args)
    ours["revision"] = requestx_revision()
    control = None
    if not args.no_control:
        print("running them with httpx's own transports (control) ...")
        control = run_suite("control", src, "httpx", args.timeout, args.pytest_args)
    return write_results(version, ours, control, bool(args.pytest_args))


if __name__ == "__main__":
    sys.exit(main())
