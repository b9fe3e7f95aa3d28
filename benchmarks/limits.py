"""The limit lines: what the server and machine allow, measured by C tools.

wrk for HTTP/1.1 (with a small Lua script for POST bodies), h2load for
HTTP/2, curl for single streams (SSE, 1 GiB down and up).  Each returns a dict
shaped like a worker's result (``rps`` or ``per_s``), so the report treats the
limit as one more row.

``libcurl_c`` is a second limit for some scenarios (``Scenario.extra_limits``):
``libcurl/multi_get.c``, a small C program that drives libcurl's multi
interface with nothing else per request, built here with ``cc`` on first use.
wrk shows what the server allows; it shows what any client built on libcurl
can reach at best.  It is built twice, as the engine can be: against the
system libcurl (``-lcurl``, member ``libcurl-c``) and statically against the
bundled one in ``build/libcurl/prefix`` (the archives setup.py links, in its
order; member ``libcurl-c-bundled``).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

from harness import BenchError

HERE = Path(__file__).resolve().parent
RUN_DIR = HERE / ".run"
TOOLS = {"wrk": "wrk", "h2load": "nghttp2-client", "curl": "curl"}
MULTI_GET_SOURCE = HERE / "libcurl" / "multi_get.c"
MULTI_GET = RUN_DIR / "multi_get"
MULTI_GET_BUNDLED = RUN_DIR / "multi_get-bundled"
BUNDLED_PREFIX = HERE.parent / "build" / "libcurl" / "prefix"
# The member names of the libcurl-in-C limits in results.json: on the system
# libcurl, and on the bundled one.
LIBCURL_C = "libcurl-c"
LIBCURL_C_BUNDLED = "libcurl-c-bundled"
LIBCURL_CS = (LIBCURL_C, LIBCURL_C_BUNDLED)


def missing_tools() -> list:
    """'tool (apt package)' for every limit tool not on PATH."""
    return [
        f"{tool} (apt-get install {pkg})" for tool, pkg in TOOLS.items() if not shutil.which(tool)
    ]


def _run(cmd: list, timeout: float) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{cmd[0]} did not finish within {timeout:.0f}s") from exc
    if proc.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr[-1000:]}")
    return proc.stdout + proc.stderr


def _duration_us(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1.0, "ms": 1e3, "s": 1e6}[unit]


def _post_script(size: int) -> Path:
    path = RUN_DIR / f"wrk-post-{size}.lua"
    if not path.exists():
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f'wrk.method = "POST"\nwrk.body = string.rep("x", {size})\n'
            'wrk.headers["Content-Type"] = "application/octet-stream"\n'
        )
    return path


def parse_wrk(out: str) -> dict:
    """{"requests", "seconds", "rps"} from wrk's output; BenchError if it
    saw errors."""
    match = re.search(r"Requests/sec:\s*([\d.]+)", out)
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if not match or not total:
        raise BenchError(f"wrk failed:\n{out.strip()}")
    if "Non-2xx" in out or "Socket errors" in out:
        raise BenchError(f"wrk saw errors:\n{out.strip()}")
    secs = float(total.group(2)) / (1000.0 if total.group(3) == "ms" else 1.0)
    return {
        "requests": int(total.group(1)),
        "seconds": secs,
        "rps": float(match.group(1)),
    }


def wrk(url: str, connections: int, seconds: float, post_size: int = 0) -> dict:
    """``wrk -t1 -c<connections>``: req/s and the p50/p99 latency."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url]
    if post_size:
        cmd += ["-s", str(_post_script(post_size))]
    out = _run(cmd, seconds + 30)
    result = parse_wrk(out)
    for q in ("50", "99"):
        match = re.search(rf"^\s*{q}%\s+(\S+)", out, re.M)
        result[f"p{q}_us"] = _duration_us(match.group(1)) if match else None
    return result


def h2load(url: str, streams: int, seconds: float) -> dict:
    """``h2load -c1 -m<streams>``: req/s over one HTTP/2 connection."""
    out = _run(["h2load", "-c1", f"-m{streams}", f"-D{max(1, round(seconds))}", url], seconds + 30)
    match = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", out)
    failed = re.search(r"(\d+) failed, (\d+) errored", out)
    if not match or (failed and (failed.group(1) != "0" or failed.group(2) != "0")):
        raise BenchError(f"h2load failed:\n{out.strip()[-1500:]}")
    return {"rps": float(match.group(3)), "p50_us": None, "p99_us": None}


def curl(url: str, upload: Path | None = None) -> dict:
    """One transfer with ``curl -o /dev/null`` (``-T file`` for an upload):
    seconds and bytes per second."""
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{size_download} %{size_upload}"]
    if upload is not None:
        cmd += ["-X", "POST", "-T", str(upload)]
    seconds, down, up = _run([*cmd, url], 600).split()[-3:]
    size = float(up if upload is not None else down)
    return {"seconds": float(seconds), "bytes": size, "per_s": size / float(seconds)}


def bundled_archives() -> list:
    """The static archives the engine links for the bundled libcurl, in link
    order: setup.py's ``BUNDLED_ARCHIVES``, read from its source."""
    tree = ast.parse((HERE.parent / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "BUNDLED_ARCHIVES" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    raise BenchError("setup.py has no BUNDLED_ARCHIVES list")


def _libcurl_flags(bundled: bool) -> tuple:
    """(flags, files the binary depends on) for linking libcurl."""
    if bundled:
        lib = BUNDLED_PREFIX / "lib"
        archives = [lib / name for name in bundled_archives()]
        missing = [p for p in archives if not p.is_file()]
        if missing:
            raise BenchError(f"no bundled libcurl: {missing[0]} is missing (make libcurl)")
        flags = ["-DCURL_STATICLIB", f"-I{BUNDLED_PREFIX / 'include'}"]
        return [*flags, *map(str, archives), "-ldl", "-pthread"], archives
    flags = ["-lcurl"]
    if shutil.which("pkg-config"):
        found = subprocess.run(
            ["pkg-config", "--cflags", "--libs", "libcurl"], capture_output=True, text=True
        )
        if found.returncode == 0 and found.stdout.strip():
            flags = found.stdout.split()
    return flags, []


def build_multi_get(bundled: bool = False) -> Path:
    """Compile ``libcurl/multi_get.c`` unless the binary is up to date: ``cc
    -O2`` against the system libcurl (``.run/multi_get``), or with
    ``bundled`` statically against the bundled libcurl
    (``.run/multi_get-bundled``)."""
    target = MULTI_GET_BUNDLED if bundled else MULTI_GET
    flags, inputs = _libcurl_flags(bundled)
    newest = max(p.stat().st_mtime for p in [MULTI_GET_SOURCE, *inputs])
    if target.exists() and target.stat().st_mtime >= newest:
        return target
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        raise BenchError("no C compiler (cc) to build libcurl/multi_get.c")
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    _run([cc, "-O2", "-Wall", "-o", str(partial), str(MULTI_GET_SOURCE), *flags], 300)
    partial.replace(target)
    return target


def libcurl_c(
    url: str,
    concurrency: int,
    seconds: float,
    warmup: float,
    expect_len: int,
    bundled: bool = False,
) -> dict:
    """``multi_get``: ``concurrency`` GETs in flight on one libcurl multi handle
    (keep-alive), ``warmup`` seconds untimed, then req/s over ``seconds``; on
    the system libcurl, or with ``bundled`` on the bundled one."""
    from harness import last_json_line

    cmd = [str(build_multi_get(bundled)), url, str(concurrency), str(seconds), str(warmup)]
    try:
        proc = subprocess.run(
            [*cmd, str(expect_len)], capture_output=True, text=True, timeout=seconds + warmup + 30
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"multi_get did not finish within {seconds + warmup + 30:.0f}s") from exc
    result = last_json_line(proc.stdout)
    if result is None:
        raise BenchError(f"multi_get failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    if "error" in result:
        raise BenchError(result["error"])
    return result
