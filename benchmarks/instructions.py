"""Instructions per request, counted by callgrind: the repeatable figure.

    python3 benchmarks/instructions.py                       # this checkout
    python3 benchmarks/instructions.py --vs ../other-tree    # A/B against another

Wall-clock figures on a shared machine drift from run to run; instruction
counts do not. For each scenario the client runs twice under
``valgrind --tool=callgrind`` against a local nginx, with N and 2N requests
after the same warm-up, and the difference divided by N is the marginal cost
of one request in the client process (start-up, imports and warm-up cancel
out). Each count is split by where the instructions ran (libcurl, CPython,
libc, the engine, the rest), from callgrind's per-object totals.

Scenarios:
    seq      Session.get(url).content, one after another (keep-alive)
    post     Session.post(url, data=100 bytes), one after another
    async64  AsyncSession, 64 tasks each doing GETs back to back

``--options "retries=requestx.Retry(total=3)"`` passes keyword arguments to
the Session / AsyncSession (what a configured policy costs); ``--setup CODE``
runs CODE in the client before the session is made (``--setup otel`` is
short for the OpenTelemetry instrumentor with the SDK's tracer and meter
providers, nothing exported: what tracing costs in the client). ``--vs TREE``
runs the same scenarios with requestx imported from TREE (a
checkout with its extension built in place, e.g. a ``git worktree`` of an
older commit), so both figures come from one run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from servers import NginxServer  # noqa: E402

CLIENTS = {
    "seq": """
import sys, requestx
{setup}
url, n = sys.argv[1], int(sys.argv[2])
with requestx.Session({options}) as s:
    for _ in range(200 + n):
        assert len(s.get(url).content) > 0
""",
    "post": """
import sys, requestx
{setup}
url, n = sys.argv[1].replace("/json", "/upload"), int(sys.argv[2])
body = b"x" * 100
with requestx.Session({options}) as s:
    for _ in range(200 + n):
        assert s.post(url, data=body).status_code == 200
""",
    "async64": """
import asyncio, sys, requestx
{setup}
url, n = sys.argv[1], int(sys.argv[2])
async def main():
    async with requestx.AsyncSession({options}) as s:
        left = 640 + n
        async def worker():
            nonlocal left
            while left > 0:
                left -= 1
                r = await s.get(url)
                assert len(r.content) > 0
        await asyncio.gather(*(worker() for _ in range(64)))
asyncio.run(main())
""",
}

# Where instructions run, by the object callgrind names (first match wins).
GROUPS = (
    ("libcurl", re.compile(r"libcurl")),
    ("engine", re.compile(r"_engine")),
    ("libc", re.compile(r"libc[.-]|libc\.so|ld-linux|libm[.-]")),
    ("CPython", re.compile(r"python|libpython|\.cpython-")),
)


OPTIONS = ""  # --options: keyword arguments of the Session / AsyncSession
SETUP = ""  # --setup: code run before the session is made

SETUPS = {
    "otel": (
        "from opentelemetry.sdk.trace import TracerProvider; "
        "from opentelemetry.sdk.metrics import MeterProvider; "
        "from requestx.contrib.opentelemetry import RequestxInstrumentor; "
        "RequestxInstrumentor().instrument("
        "tracer_provider=TracerProvider(), meter_provider=MeterProvider())"
    ),
}


def count(tree: Path, scenario: str, url: str, n: int) -> dict[str, int]:
    """Instructions of one client run, by group."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                "--trace-children=no",
                sys.executable,
                "-c",
                CLIENTS[scenario].replace("{options}", OPTIONS).replace("{setup}", SETUP),
                url,
                str(n),
            ],
            check=True,
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        by_object = self_cost_by_object(out)
    groups = {name: 0 for name, _ in GROUPS}
    groups["other"] = 0
    for where, value in by_object.items():
        for name, pattern in GROUPS:
            if pattern.search(where):
                groups[name] += value
                break
        else:
            groups["other"] += value
    groups["total"] = sum(by_object.values())
    return groups


def self_cost_by_object(path: Path) -> dict[str, int]:
    """Instructions executed in each object file (self cost, all threads),
    read from callgrind's output: cost lines add to the current ``ob=``,
    except the line after ``calls=``, which is the callee's inclusive cost."""
    names: dict[str, str] = {}
    costs: dict[str, int] = {}
    current = "?"
    skip = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith(("ob=", "cob=")):
                # "(id) name" defines a compressed name, "(id)" uses it; a
                # cob= line (a call's object) may be the one defining it
                m = re.match(r"c?ob=(?:\((\d+)\))?\s*(.*)", line.rstrip("\n"))
                assert m is not None
                ident, name = m.group(1), m.group(2)
                if ident is not None:
                    if name:
                        names[ident] = name
                    name = names.get(ident, ident)
                if line.startswith("ob="):
                    current = name
            elif line.startswith("calls="):
                skip = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if skip:
                    skip = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    costs[current] = costs.get(current, 0) + int(parts[1])
    return costs


def marginal(tree: Path, scenario: str, url: str, n: int) -> dict[str, float]:
    one, two = count(tree, scenario, url, n), count(tree, scenario, url, 2 * n)
    return {name: (two[name] - one[name]) / n for name in two}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", default="seq,async64")
    parser.add_argument("-n", type=int, default=2000, help="requests of the shorter run")
    parser.add_argument("--vs", type=Path, help="another checkout to compare with")
    parser.add_argument(
        "--options",
        default="",
        help='session keyword arguments, e.g. "retries=requestx.Retry(total=3)"',
    )
    parser.add_argument(
        "--setup",
        default="",
        help="code run before the session is made, or a name: " + ", ".join(SETUPS),
    )
    args = parser.parse_args()
    global OPTIONS, SETUP
    OPTIONS = args.options
    SETUP = SETUPS.get(args.setup, args.setup)
    trees = [("this", HERE.parent)]
    if args.vs:
        trees.append(("vs", args.vs.resolve()))
    columns = ["total", "libcurl", "CPython", "libc", "engine", "other"]
    with NginxServer() as nginx:
        url = nginx.url("/json")
        print(f"instructions per request (marginal, n={args.n}), against {url}")
        print(f"{'scenario':10} {'tree':5} " + " ".join(f"{c:>9}" for c in columns))
        for scenario in args.scenarios.split(","):
            rows = []
            for label, tree in trees:
                figures = marginal(tree, scenario, url, args.n)
                rows.append(figures)
                cells = " ".join(f"{figures[c] / 1000:8.1f}k" for c in columns)
                print(f"{scenario:10} {label:5} {cells}", flush=True)
            if len(rows) == 2:
                ratio = rows[0]["total"] / rows[1]["total"]
                print(f"{scenario:10} this / vs: {ratio:.3f}")


if __name__ == "__main__":
    main()
