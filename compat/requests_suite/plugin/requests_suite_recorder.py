"""pytest plugin used by ../run.py: records every outcome as a JSON line as
soon as it is known, so that a run killed by a hang (pytest-timeout's thread
method ends the process) or a crash loses nothing, and drops the tests the
runner asks it to (network tests; tests already done before a restart).

Environment:
  REQUESTS_SUITE_RECORD    file to append the JSON lines to
  REQUESTS_SUITE_SKIP      JSON list of node ids to drop silently (already run)
  REQUESTS_SUITE_DESELECT  JSON object {node id without parameters: reason}
                           of tests to deselect (reported as deselected)
"""

from __future__ import annotations

import json
import os
from typing import Any

_TEXT_LIMIT = 6000


def _write(**event: Any) -> None:
    path = os.environ.get("REQUESTS_SUITE_RECORD")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(event) + "\n")


def _load(name: str, default: Any) -> Any:
    path = os.environ.get(name)
    if not path:
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _base(nodeid: str) -> str:
    return nodeid.split("[", 1)[0]


def _message(report: Any) -> str:
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple):  # skipped: (path, lineno, reason)
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return f"{crash.message} ({os.path.basename(crash.path)}:{crash.lineno})"
    lines = [line for line in str(longrepr).splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _text(report: Any) -> str:
    text = str(report.longrepr or "")
    return text[-_TEXT_LIMIT:]


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    skip = set(_load("REQUESTS_SUITE_SKIP", []))
    deselect = _load("REQUESTS_SUITE_DESELECT", {})
    keep, dropped = [], []
    for item in items:
        if item.nodeid in skip:
            continue
        reason = deselect.get(_base(item.nodeid))
        if reason is not None:
            dropped.append(item)
            _write(event="deselected", nodeid=item.nodeid, reason=reason)
            continue
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep
    _write(event="collected", nodeids=[item.nodeid for item in keep])


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        _write(
            event="collect_error",
            nodeid=report.nodeid,
            message=_message(report),
            text=_text(report),
        )


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    _write(event="start", nodeid=nodeid)


def pytest_runtest_logreport(report: Any) -> None:
    event = {
        "event": "report",
        "nodeid": report.nodeid,
        "when": report.when,
        "outcome": report.outcome,
        "duration": round(report.duration, 3),
    }
    if hasattr(report, "wasxfail"):
        event["xfail"] = True
    if report.outcome != "passed":
        event["message"] = _message(report)
        event["text"] = _text(report)
    _write(**event)
