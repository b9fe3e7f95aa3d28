#!/usr/bin/env python3
"""Run requests' own test suite against requestx and write RESULTS.md.

    .venv/bin/python compat/requests_suite/run.py [--no-control] [--git-dir DIR]

1. Gets requests' tests (tests/, requirements-dev.txt and, for the control
   run, src/requests) of REQUESTS_VERSION into .work/ (not committed): from a
   git clone of psf/requests when --git-dir or REQUESTS_GIT_DIR names one,
   else from the source distribution on the package index (pip download).
2. Installs into this interpreter's environment what the suite needs and is
   missing (pytest-httpbin, httpbin, trustme, pytest-timeout, PySocks).
3. Runs pytest on those tests with shim/ first on sys.path, so that
   ``import requests`` is requestx, against pytest-httpbin's servers on
   127.0.0.1. Tests that need the internet are deselected (NEEDS_NETWORK).
   A test that hangs is stopped after --timeout seconds (pytest-timeout ends
   the process; the run goes on without it).
4. Unless --no-control: runs the same tests against requests itself
   (the same version, from .work/) to tell environment problems apart.
5. Classifies every failure (known_failures.py) and writes RESULTS.md.

Exit status: 0 when every failure has a classification, 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = HERE / ".work"
SHIM = HERE / "shim"
PLUGIN_DIR = HERE / "plugin"
RESULTS = HERE / "RESULTS.md"

REQUESTS_VERSION = "2.32.5"
SRC = WORK / f"requests-{REQUESTS_VERSION}"  # tests/, requirements-dev.txt, src/requests

sys.path.insert(0, str(HERE))
from known_failures import CATEGORIES, CAUSES, Cause, classify  # noqa: E402

# import name -> distribution to install (requests' requirements-dev.txt,
# its "socks" extra for the control run, and pytest-timeout for hangs).
NEEDED = {
    "pytest": "pytest",
    "pytest_httpbin": "pytest-httpbin==2.1.0",
    "httpbin": "httpbin~=0.10.0",
    "trustme": "trustme",
    "pytest_timeout": "pytest-timeout",
    "socks": "PySocks",
}

# Tests that need a route to the internet (node id without parameters).
NEEDS_NETWORK = {
    "tests/test_requests.py::TestTimeout::test_connect_timeout": (
        "connects to 10.255.255.1 and expects the SYN to go unanswered; needs a route "
        "off this machine (offline the connect fails at once: 'network unreachable')"
    ),
    "tests/test_requests.py::TestTimeout::test_total_timeout_connect": (
        "connects to 10.255.255.1 and expects the SYN to go unanswered; needs a route "
        "off this machine (offline the connect fails at once: 'network unreachable')"
    ),
}

# Variables that redirect traffic or change trusted CAs; the suite runs
# without them (its tests set them where they need them).
CLEARED_ENV = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NETRC",
    "CURL_HOME",
    "PYTHONPATH",
)

MAX_RESTARTS = 40


# --------------------------------------------------------------------------
# Getting the tests and the tools


def fetch_tests(git_dir: Optional[str]) -> None:
    if (SRC / "tests" / "conftest.py").is_file() and (SRC / "src" / "requests").is_dir():
        return
    WORK.mkdir(exist_ok=True)
    SRC.mkdir(exist_ok=True)
    members = ["tests", "requirements-dev.txt", "src/requests"]
    if git_dir:
        tag = f"v{REQUESTS_VERSION}"
        print(f"extracting {', '.join(members)} of {tag} from {git_dir}")
        archive = subprocess.run(
            ["git", "--git-dir", git_dir, "archive", tag, *members],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(SRC)], input=archive, check=True)
        return
    print(f"downloading the source distribution of requests {REQUESTS_VERSION} (pip download)")
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                tmp,
                f"requests=={REQUESTS_VERSION}",
            ]
        )
        sdists = list(Path(tmp).glob("requests-*.tar.gz"))
        if result.returncode != 0 or not sdists:
            sys.exit(
                "could not get requests' tests. Either let pip reach the package index, "
                "or pass --git-dir PATH (or set REQUESTS_GIT_DIR) to a git clone of "
                f"psf/requests that has the tag v{REQUESTS_VERSION}, or extract that "
                f"tag's tests/, requirements-dev.txt and src/requests into {SRC}."
            )
        prefix = f"requests-{REQUESTS_VERSION}/"
        with tarfile.open(sdists[0]) as tar:
            for member in tar.getmembers():
                name = member.name[len(prefix) :] if member.name.startswith(prefix) else ""
                if any(name == m or name.startswith(m + "/") for m in members):
                    member.name = name
                    tar.extract(member, SRC, filter="data")


def install_missing() -> None:
    missing = [dist for mod, dist in NEEDED.items() if importlib.util.find_spec(mod) is None]
    if missing:
        print(f"installing into {sys.prefix}: {' '.join(missing)}")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)
    if importlib.util.find_spec("requestx") is None:
        sys.exit(f"requestx is not importable from {sys.executable}; run `make build` first")


# --------------------------------------------------------------------------
# Running


def write_ini(timeout: int) -> Path:
    ini = WORK / "pytest.ini"
    ini.write_text(
        "[pytest]\n"
        f"timeout = {timeout}\n"
        "timeout_method = thread\n"
        # requests' own pyproject adds --doctest-modules for src/; not wanted here.
        "addopts = -p no:cacheprovider\n"
    )
    return ini


def run_suite(label: str, first_on_path: Path, timeout: int, extra: list[str]) -> dict[str, Any]:
    """Runs pytest (again and again if a hang or crash ends it) and returns
    the parsed records: outcomes, deselected tests, collection errors."""
    ini = write_ini(timeout)
    record = WORK / f"{label}.jsonl"
    record.unlink(missing_ok=True)
    for old in WORK.glob(f"{label}.*.log"):
        old.unlink()
    skip_file = WORK / f"{label}.skip.json"
    deselect_file = WORK / f"{label}.deselect.json"
    deselect_file.write_text(json.dumps(NEEDS_NETWORK))
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(first_on_path), str(PLUGIN_DIR)])
    env["REQUESTS_SUITE_RECORD"] = str(record)
    env["REQUESTS_SUITE_DESELECT"] = str(deselect_file)
    env["PYTHONDONTWRITEBYTECODE"] = "1"

    killed: dict[str, str] = {}  # node id -> why the process ended in it
    first_collected: Optional[list[str]] = None
    started = time.monotonic()
    for attempt in range(MAX_RESTARTS):
        done = finished_ids(record)
        skip_file.write_text(json.dumps(sorted(done | set(killed))))
        env["REQUESTS_SUITE_SKIP"] = str(skip_file)
        log = WORK / f"{label}.{attempt}.log"
        before = len(read_events(record))
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "tests",
            "-c",
            str(ini),
            "--rootdir",
            str(SRC),
            "-p",
            "requests_suite_recorder",
            "--continue-on-collection-errors",
            "-q",
            "-rN",
            *extra,
        ]
        with open(log, "w") as out:
            proc = subprocess.run(cmd, cwd=SRC, env=env, stdout=out, stderr=subprocess.STDOUT)
        events = read_events(record)
        if first_collected is None:
            first_collected = next((e["nodeids"] for e in events if e["event"] == "collected"), [])
        hung = unfinished(events[before:])
        if hung is None:
            if proc.returncode not in (0, 1):  # 2..5: interrupted, usage, internal error
                print(f"  [{label}] pytest exited with {proc.returncode}; see {log}")
            break
        text = log.read_text(errors="replace")
        if "Timeout" in text and proc.returncode == 1:
            why = (
                f"hung: still running after {timeout} s, process stopped "
                f"(stacks in .work/{log.name})"
            )
        else:
            why = f"the test process died (exit status {proc.returncode}; see .work/{log.name})"
        killed[hung] = why
        print(f"  [{label}] {hung}: {why}; restarting without it")
    else:
        print(f"  [{label}] gave up after {MAX_RESTARTS} restarts")
    results = collapse(read_events(record), killed)
    elapsed = time.monotonic() - started
    return {
        "label": label,
        "collected": first_collected or [],
        "results": results,
        "deselected": {
            e["nodeid"]: e["reason"] for e in read_events(record) if e["event"] == "deselected"
        },
        "collect_errors": list(
            {e["nodeid"]: e for e in read_events(record) if e["event"] == "collect_error"}.values()
        ),
        "seconds": round(elapsed, 1),
    }


def requestx_revision() -> Optional[str]:
    """The commit of the requestx checkout, and whether requestx/ has local changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "requestx"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return None
    if not head:
        return None
    return head + (" with uncommitted changes in requestx/" if dirty else "")


def read_events(record: Path) -> list[dict[str, Any]]:
    if not record.exists():
        return []
    events = []
    for line in record.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:  # a line cut short by a killed process
            pass
    return events


def finished_ids(record: Path) -> set[str]:
    return {
        e["nodeid"]
        for e in read_events(record)
        if e["event"] == "report" and e["when"] == "teardown"
    }


def unfinished(events: list[dict[str, Any]]) -> Optional[str]:
    done = {e["nodeid"] for e in events if e["event"] == "report" and e["when"] == "teardown"}
    started = [e["nodeid"] for e in events if e["event"] == "start"]
    for nodeid in reversed(started):
        if nodeid not in done:
            return nodeid
    return None


def collapse(events: list[dict[str, Any]], killed: dict[str, str]) -> dict[str, dict[str, Any]]:
    """One outcome per test, as pytest counts them: passed, failed, error,
    skipped, xfailed, xpassed (a test killed by a hang counts as failed)."""
    phases: dict[str, dict[str, dict[str, Any]]] = collections.defaultdict(dict)
    for e in events:
        if e["event"] == "report":
            phases[e["nodeid"]][e["when"]] = e
    results: dict[str, dict[str, Any]] = {}
    for nodeid, by_when in phases.items():
        setup, call, teardown = (by_when.get(w) for w in ("setup", "call", "teardown"))
        outcome, source = "passed", None
        if setup and setup["outcome"] == "failed":
            outcome, source = "error", setup
        elif setup and setup["outcome"] == "skipped":
            outcome, source = ("xfailed" if setup.get("xfail") else "skipped"), setup
        elif call:
            if call["outcome"] == "failed":
                outcome, source = "failed", call
            elif call.get("xfail"):
                outcome = "xfailed" if call["outcome"] == "skipped" else "xpassed"
                source = call
            elif call["outcome"] == "skipped":
                outcome, source = "skipped", call
        if outcome == "passed" and teardown and teardown["outcome"] == "failed":
            outcome, source = "error", teardown
        results[nodeid] = {
            "outcome": outcome,
            "message": (source or {}).get("message", ""),
            "text": (source or {}).get("text", ""),
        }
    for nodeid, why in killed.items():
        results[nodeid] = {"outcome": "failed", "message": why, "text": why, "hung": True}
    return results


# --------------------------------------------------------------------------
# Reporting


def counts(results: dict[str, dict[str, Any]]) -> collections.Counter[str]:
    return collections.Counter(r["outcome"] for r in results.values())


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


UNCLASSIFIED = Cause(
    "?", "unclassified", "unclassified: diagnose it and add it to known_failures.py"
)


def write_results(
    shim: dict[str, Any], control: Optional[dict[str, Any]], partial: bool = False
) -> int:
    """Writes RESULTS.md; ``partial``: only some tests ran (pytest arguments)."""
    results = shim["results"]
    control_results = (control or {}).get("results", {})
    c = counts(results)
    cc = counts(control_results)

    # Failing tests, and modules that could not be imported (their tests are
    # counted from the control run), grouped by cause.
    groups: dict[Cause, list[tuple[str, dict[str, Any]]]] = collections.defaultdict(list)
    for nodeid, r in sorted(results.items()):
        if r["outcome"] in ("failed", "error"):
            cause = classify(nodeid, r["message"] + "\n" + r["text"]) or UNCLASSIFIED
            groups[cause].append((nodeid, dict(r, count=1)))
    n_lost = 0
    for err in shim["collect_errors"]:
        module = err["nodeid"]
        members = [n for n in (control or {}).get("collected", []) if module_of(n) == module]
        count = max(1, len(members))
        n_lost += count
        cause = classify(module, err["message"] + "\n" + err["text"]) or UNCLASSIFIED
        groups[cause].append(
            (module, {"outcome": "not collected", "message": err["message"], "count": count})
        )
    n_deselected = len(shim["deselected"])
    total = sum(c.values()) + n_lost + n_deselected
    runnable = total - n_deselected

    def size(cause: Cause) -> int:
        return sum(row["count"] for _, row in groups[cause])

    rank = {cause: i for i, cause in enumerate(CAUSES)}
    cat_rank = {cat: i for i, cat in enumerate(CATEGORIES)}
    causes = sorted(groups, key=lambda k: (cat_rank.get(k.category, 99), rank.get(k, 999)))
    per_category: dict[str, list[Cause]] = collections.defaultdict(list)
    for cause in causes:
        per_category[cause.category].append(cause)

    out: list[str] = []
    w = out.append
    w("# requests' own test suite against requestx\n")
    w(
        f"Generated by `compat/requests_suite/run.py` from requests {REQUESTS_VERSION}'s "
        "`tests/`, with `import requests` loading requestx (`shim/`), against "
        "pytest-httpbin's servers on 127.0.0.1. Do not edit by hand: rerun the script "
        "(causes and diagnoses live in `known_failures.py`).\n"
    )
    revision = shim.get("revision")
    if revision:
        w(f"requestx: commit {revision}.\n")
    if partial:
        w("**Partial run** (pytest arguments were given): only the selected tests are counted.\n")
    w("## Figures\n")
    w(f"| | requestx | requests {REQUESTS_VERSION} (control) |")
    w("| --- | ---: | ---: |")
    control_lost = len((control or {}).get("collect_errors", []))
    control_des = len((control or {}).get("deselected", {}))
    rows = [
        ("tests in the suite", total, sum(cc.values()) + control_lost + control_des),
        ("deselected: need the internet", n_deselected, control_des),
        ("not collected: the test module cannot be imported", n_lost, control_lost),
        ("**passed**", c["passed"], cc["passed"]),
        ("**failed**", c["failed"], cc["failed"]),
        ("**errors** (setup or teardown)", c["error"], cc["error"]),
        ("skipped", c["skipped"], cc["skipped"]),
        ("xfailed (expected failures)", c["xfailed"], cc["xfailed"]),
        ("xpassed", c["xpassed"], cc["xpassed"]),
    ]
    for name, mine, theirs in rows:
        w(f"| {name} | {mine} | {theirs if control else '-'} |")
    w("")
    w(
        f"**{c['passed']} of {runnable} tests pass** with requestx ({total} in the suite, "
        f"{n_deselected} deselected because they need the internet). Run time: "
        f"{shim['seconds']} s" + (f", control {control['seconds']} s." if control else ".") + "\n"
    )
    w("Failures (failed, errors, tests of modules that could not be imported) by category:\n")
    w("| category | tests | causes |")
    w("| --- | ---: | ---: |")
    for cat, title in list(CATEGORIES.items()) + [("?", "unclassified")]:
        n = sum(size(k) for k in per_category.get(cat, []))
        if cat == "c" and n_deselected:
            w(f"| ({cat}) {title} | {n} (+{n_deselected} deselected) | {len(per_category[cat])} |")
        elif cat != "?" or n:
            w(f"| ({cat}) {title} | {n} | {len(per_category[cat])} |")
    w("")
    if control:
        broken = sorted(
            n for n, r in control_results.items() if r["outcome"] in ("failed", "error")
        )
        if broken:
            w("Tests that fail with requests itself here too (environment):\n")
            for n in broken:
                w(f"- `{n}`: {control_results[n]['message']}")
            w("")
    if per_category.get("a"):
        w("## (a) requestx bugs at a glance\n")
        w("| # | tests | cause | where |")
        w("| ---: | ---: | --- | --- |")
        for i, cause in enumerate(per_category["a"], 1):
            w(f"| {i} | {size(cause)} | {cause.title} | {cause.where} |")
        w("")
    w("## Failures by cause\n")
    w(
        "Each cause: its category, a one-line diagnosis, where in requestx it comes from "
        "(for (a)), then the tests with the assertion or error they ended on.\n"
    )
    for cause in causes:
        title = CATEGORIES.get(cause.category, "unclassified")
        n = size(cause)
        w(f"### ({cause.category}) {cause.title}\n")
        w(f"{cause.diagnosis}.\n")
        where = f" Where: {cause.where}." if cause.where else ""
        w(f"*{title}*; {n} test{'s' if n != 1 else ''}.{where}\n")
        for nodeid, row in groups[cause]:
            message = " ".join(row["message"].split())
            if len(message) > 300:
                message = message[:297] + "..."
            note = ""
            if row["outcome"] == "not collected":
                note = f" (module not collected: {row['count']} tests)"
            elif row["outcome"] == "error":
                note = " (error in setup/teardown)"
            ctl = control_results.get(nodeid, {}).get("outcome")
            if ctl not in (None, "passed"):
                note += f" [requests: {ctl}]"
            w(f"- `{nodeid}`{note}: {message}")
        w("")
    if shim["deselected"]:
        w("## Deselected: need the internet (c)\n")
        for nodeid, reason in sorted(shim["deselected"].items()):
            w(f"- `{nodeid}`: {reason}")
        w("")
    skipped = {n: r for n, r in results.items() if r["outcome"] in ("skipped", "xfailed")}
    if skipped:
        w("## Skipped and expected failures (the same with requests)\n")
        for nodeid, r in sorted(skipped.items()):
            w(f"- `{nodeid}` ({r['outcome']}): {r['message']}")
        w("")
    RESULTS.write_text("\n".join(out))
    saved = {"shim": shim, "control": control, "partial": partial}
    (WORK / "results.json").write_text(json.dumps(saved, indent=1))

    print(f"\nrequestx: {c['passed']} passed of {runnable} run ({total} in the suite)")
    print(
        f"  failed {c['failed']}, errors {c['error']}, not collected {n_lost}, "
        f"skipped {c['skipped']}, xfailed {c['xfailed']}, deselected {n_deselected}"
    )
    if control:
        print(
            f"requests {REQUESTS_VERSION}: {cc['passed']} passed, {cc['failed']} failed, "
            f"{cc['error']} errors"
        )
    for cat, title in list(CATEGORIES.items()) + [("?", "unclassified")]:
        if per_category.get(cat):
            n = sum(size(k) for k in per_category[cat])
            print(f"  ({cat}) {title}: {n} tests, {len(per_category[cat])} causes")
    unseen = [cause.title for cause in CAUSES if cause not in groups]
    if unseen and not partial:
        print("  causes in known_failures.py that no test shows any more (delete them):")
        for title in unseen:
            print(f"    - {title}")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 1 if per_category.get("?") else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--git-dir",
        default=os.environ.get("REQUESTS_GIT_DIR"),
        help="a git clone (or bare git directory) of psf/requests to take the tests from",
    )
    parser.add_argument("--no-control", action="store_true", help="skip the run against requests")
    parser.add_argument("--timeout", type=int, default=30, help="seconds before a test is a hang")
    parser.add_argument(
        "pytest_args", nargs="*", help="extra pytest arguments (after --), e.g. -- -k cookie"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite RESULTS.md from the last run (.work/results.json), e.g. after "
        "editing known_failures.py",
    )
    args = parser.parse_args()

    if args.report_only:
        saved = json.loads((WORK / "results.json").read_text())
        return write_results(saved["shim"], saved["control"], bool(saved.get("partial")))
    fetch_tests(args.git_dir)
    install_missing()
    print(f"running requests {REQUESTS_VERSION}'s tests against requestx ...")
    revision = requestx_revision()
    shim = run_suite("requestx", SHIM, args.timeout, args.pytest_args)
    shim["revision"] = revision
    control = None
    if not args.no_control:
        print(f"running them against requests {REQUESTS_VERSION} itself (control) ...")
        control = run_suite("control", SRC / "src", args.timeout, args.pytest_args)
    return write_results(shim, control, bool(args.pytest_args))


if __name__ == "__main__":
    sys.exit(main())
