"""Instructions per request, counted by callgrind: the repeatable figure.

    python3 benchmarks/instructions.py                       # this checkout
    python3 benchmarks/instructions.py --vs ../other-tree    # A/B against another
    python3 benchmarks/instructions.py --syslib --scenarios seq,post,async64,https
    python3 benchmarks/instructions.py --engine build/x/_engine.cpython-311-x86_64-linux-gnu.so

Wall-clock figures on a shared machine drift from run to run; instruction
counts do not. For each scenario the client runs twice under
``valgrind --tool=callgrind`` against a local nginx, with N and 2N requests
after the same warm-up, and the difference divided by N is the marginal cost
of one request in the client process (start-up, imports and warm-up cancel
out). Each count is split by where the instructions ran (libcurl with the
libraries it uses, CPython, libc, the engine, the rest), from callgrind's
per-object totals. An engine that links libcurl statically (the bundled
libcurl 8: libcurl, OpenSSL, nghttp2, zlib, ... inside ``_engine*.so``) is
split by the source file of each function: the engine's own sources
(``requestx/_engine/``, and Python's headers it inlines) are "engine",
everything else in the object is "libcurl+OpenSSL", as the shared libcurl,
libssl, libcrypto, libnghttp2, libz, ... of an engine on the system libcurl.

Scenarios:
    seq      Session.get(url).content, one after another (keep-alive)
    post     Session.post(url, data=100 bytes), one after another
    async64  AsyncSession, 64 tasks each doing GETs back to back
    https    seq over HTTPS (HTTP/1.1, keep-alive, verify=False; the one
             handshake is in the warm-up, so this is the TLS record work)

``--options "retries=requestx.Retry(total=3)"`` passes keyword arguments to
the Session / AsyncSession (what a configured policy costs); ``--setup CODE``
runs CODE in the client before the session is made (``--setup otel`` is
short for the OpenTelemetry instrumentor with the SDK's tracer and meter
providers, nothing exported: what tracing costs in the client). ``--vs TREE``
runs the same scenarios with requestx imported from TREE (a
checkout with its extension built in place, e.g. a ``git worktree`` of an
older commit), so both figures come from one run.

``--engine SO`` compares two copies of this checkout's package taken at the
start, identical but for the engine: the one built in place and ``SO``.
``--syslib`` is ``--engine`` with the engine built aside against the system
libcurl (``REQUESTX_LIBCURL=system setup.py build_ext`` into
``benchmarks/.run/syslib-build/``, as bench.py does for the requestx-syslib
peer): the bundled libcurl against the system one, the rest identical.
``--markdown`` also prints the table as markdown.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import peers  # noqa: E402
from servers import NginxServer  # noqa: E402

RUN_DIR = HERE / ".run" / "instructions"

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
    "https": """
import sys, requestx
url, n = sys.argv[1], int(sys.argv[2])
with requestx.Session({options}) as s:
    s.verify = False
    for _ in range(200 + n):
        assert len(s.get(url).content) > 0
""",
}
# The nginx port each scenario talks to (NginxServer.url's kind).
SERVER = {"https": "https"}

# Where instructions run, by the object callgrind names (first match wins).
# "libcurl+OpenSSL" is libcurl and the libraries it calls: TLS, HTTP/2,
# compression, IDN, ... (the system libcurl's shared dependencies).
LIBCURL = "libcurl+OpenSSL"
ENGINE_OBJECT = re.compile(r"_engine[.\w-]*\.so")
GROUPS = (
    (
        LIBCURL,
        re.compile(
            r"/lib(curl|ssl|crypto|nghttp[23]|ngtcp2\w*|z|zstd|brotli\w*|idn2|psl|ssh2?|rtmp"
            r"|gssapi\w*|krb5\w*|k5crypto|ldap\w*|lber\w*|sasl2|unistring|gnutls|nettle"
            r"|hogweed|gmp|p11-kit|tasn1|keyutils|com_err|resolv)[.-]"
        ),
    ),
    ("engine", ENGINE_OBJECT),
    ("libc", re.compile(r"/lib(c|m|pthread|dl)[.-]|ld-linux")),
    ("CPython", re.compile(r"python|libpython|\.cpython-")),
)
# Inside the engine's object: the functions compiled from these files are the
# engine's (its sources, and the static inline functions of Python's headers);
# the rest of the object is the libcurl linked into it.
ENGINE_SOURCES = re.compile(r"requestx/_engine/|python3\.\d+/|/Python\.h|/cpython/")
COLUMNS = ("total", LIBCURL, "CPython", "libc", "engine", "other")


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
        by_place = self_cost_by_object(out)
    groups = {name: 0 for name in COLUMNS}
    for (where, source), value in by_place.items():
        groups[group_of(where, source)] += value
    groups["total"] = sum(by_place.values())
    return groups


def group_of(where: str, source: str) -> str:
    """The group of instructions run in object ``where``, in a function
    compiled from ``source``."""
    if ENGINE_OBJECT.search(where):
        return "engine" if ENGINE_SOURCES.search(source) else LIBCURL
    for name, pattern in GROUPS:
        if pattern.search(where):
            return name
    return "other"


NAME_LINE = re.compile(r"(c?ob|c?fl|c?fi|fe|c?fn)=(?:\((\d+)\))?\s*(.*)")


def self_cost_by_object(path: Path) -> dict[tuple[str, str], int]:
    """Instructions executed (self cost, all threads) per (object file, source
    file of the function), read from callgrind's output: cost lines add to the
    current ``ob=`` and the ``fl=`` of the current ``fn=``, except the line
    after ``calls=``, which is the callee's inclusive cost.  (``fi=``/``fe=``
    name the file of inlined code; the cost stays with the function it is in.)"""
    names: dict[tuple[str, str], str] = {}  # (kind, id) -> name; kinds ob, fl, fn
    costs: dict[tuple[str, str], int] = {}
    obj, fl, fn_file = "?", "?", "?"
    skip = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            head = line[:1]
            if head.isdigit() or head in "+-*":
                if skip:
                    skip = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    key = (obj, fn_file)
                    costs[key] = costs.get(key, 0) + int(parts[1])
                continue
            m = NAME_LINE.match(line.rstrip("\n"))
            if m is None:
                if line.startswith("calls="):
                    skip = True
                continue
            # "(id) name" defines a compressed name, "(id)" uses it; a call's
            # object or file (cob=, cfi=) may be the line defining it
            kind, ident, name = m.groups()
            space = kind.lstrip("c")
            space = {"fi": "fl", "fe": "fl"}.get(space, space)  # one table for files
            if ident is not None:
                if name:
                    names[space, ident] = name
                name = names.get((space, ident), ident)
            if kind == "ob":
                obj = name
            elif kind == "fl":
                fl = name
            elif kind == "fn":
                fn_file = fl
    return costs


def marginal(tree: Path, scenario: str, url: str, n: int) -> dict[str, float]:
    one, two = count(tree, scenario, url, n), count(tree, scenario, url, 2 * n)
    return {name: (two[name] - one[name]) / n for name in two}


def engine_trees(engine: Path, labels: tuple = ("this", "engine")) -> list:
    """Two copies of this checkout's package under .run/instructions/: as
    built in place, and with ``engine`` as its ``_engine*.so``."""
    source = HERE.parent / "requestx"
    trees = []
    for label, so in zip(labels, (None, engine)):
        tree = RUN_DIR / label
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(source, tree / "requestx", ignore=shutil.ignore_patterns("_engine"))
        if so is not None:
            peers.replace_engine(tree / "requestx", so)
        trees.append((label, tree))
    return trees


def libcurl_of(tree: Path) -> str:
    """The libcurl the tree's engine reports (its first word: libcurl/x.y.z)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import requestx; print(requestx.curl_version())"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(tree)),
        cwd=tempfile.gettempdir(),
    )
    return proc.stdout.split()[0] if proc.returncode == 0 and proc.stdout else "?"


def markdown(results: list, labels: dict) -> list:
    """The table as markdown: one row per scenario and tree; with two trees,
    each row's total ÷ the second tree's."""
    last = labels[results[0][1][-1][0]] if results else ""
    lines = [
        "| scenario | tree | " + " | ".join(COLUMNS) + f" | total ÷ {last} |",
        "| --- | --- |" + " ---: |" * (len(COLUMNS) + 1),
    ]
    for scenario, rows in results:
        other = rows[-1][1]["total"]
        for label, figures in rows:
            cells = " | ".join(f"{figures[c] / 1000:.1f}k" for c in COLUMNS)
            ratio = f"{figures['total'] / other:.3f}" if len(rows) > 1 else "–"
            lines.append(f"| {scenario} | {labels[label]} | {cells} | {ratio} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenarios", default="seq,async64", help=",".join(CLIENTS))
    parser.add_argument("-n", type=int, default=2000, help="requests of the shorter run")
    parser.add_argument("--vs", type=Path, help="another checkout to compare with")
    parser.add_argument(
        "--engine", type=Path, help="this package with another _engine*.so to compare with"
    )
    parser.add_argument(
        "--syslib",
        action="store_true",
        help="--engine with the engine built aside against the system libcurl",
    )
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
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
    if sum(bool(x) for x in (args.vs, args.engine, args.syslib)) > 1:
        parser.error("give one of --vs, --engine, --syslib")
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in CLIENTS]
    if unknown:
        parser.error(f"unknown scenario(s) {','.join(unknown)}; choose from {','.join(CLIENTS)}")
    global OPTIONS, SETUP
    OPTIONS = args.options
    SETUP = SETUPS.get(args.setup, args.setup)
    trees = [("this", HERE.parent)]
    if args.vs:
        trees.append(("vs", args.vs.resolve()))
    if args.syslib:
        print("building the engine against the system libcurl ...", flush=True)
        args.engine = peers.build_syslib_engine()
    if args.engine:
        names = ("bundled", "system") if args.syslib else ("this", "engine")
        trees = engine_trees(args.engine.resolve(), names)
    labels = {label: f"{label} ({libcurl_of(tree)})" for label, tree in trees}
    columns = list(COLUMNS)
    results = []
    with NginxServer(tls="https" in scenarios) as nginx:
        print(f"instructions per request (marginal, n={args.n}), against {nginx.url('/json')}")
        for label, tree in trees:
            print(f"  {label}: {tree} -- {labels[label]}")
        print(f"{'scenario':10} {'tree':6} " + " ".join(f"{c[:9]:>9}" for c in columns))
        for scenario in scenarios:
            url = nginx.url("/json", SERVER.get(scenario, "http"))
            rows = []
            for label, tree in trees:
                figures = marginal(tree, scenario, url, args.n)
                rows.append((label, figures))
                cells = " ".join(f"{figures[c] / 1000:8.1f}k" for c in columns)
                print(f"{scenario:10} {label:6} {cells}", flush=True)
            if len(rows) == 2:
                ratio = rows[0][1]["total"] / rows[1][1]["total"]
                print(f"{scenario:10} {rows[0][0]} / {rows[1][0]}: {ratio:.3f}")
            results.append((scenario, rows))
    if args.markdown:
        print("", *markdown(results, labels), sep="\n")


if __name__ == "__main__":
    main()
