"""Check a built engine: it loads, it exports its module init and nothing
else, and it runs on the libcurl expected.

    python scripts/check_engine.py PATH/_engine*.so [--expect-libcurl PREFIX]
        [--no-shared-libcurl]

--expect-libcurl 8.21 passes when the engine's libcurl version starts with
8.21; --no-shared-libcurl fails if the engine needs a libcurl, libnghttp2 or
libssl shared library (a wheel's engine must carry its own).
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import subprocess
import sys


def dynamic_symbols(path: str) -> list[str]:
    out = subprocess.run(
        ["nm", "-D", "--defined-only", path], check=True, capture_output=True, text=True
    ).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def needed(path: str) -> list[str]:
    out = subprocess.run(["readelf", "-d", path], check=True, capture_output=True, text=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def load(path: str):  # noqa: ANN201 - the engine module
    loader = importlib.machinery.ExtensionFileLoader("requestx._engine", path)
    spec = importlib.util.spec_from_file_location("requestx._engine", path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("engine")
    parser.add_argument("--expect-libcurl", default="")
    parser.add_argument("--no-shared-libcurl", action="store_true")
    args = parser.parse_args()
    problems = []
    symbols = dynamic_symbols(args.engine)
    if symbols != ["PyInit__engine"]:
        problems.append(f"exports {len(symbols)} symbols, not only PyInit__engine: {symbols[:8]}")
    libs = needed(args.engine)
    if args.no_shared_libcurl:
        carried = ("libcurl", "libnghttp", "libssl", "libcrypto")
        shared = [lib for lib in libs if lib.startswith(carried)]
        if shared:
            problems.append(f"needs shared libraries it should carry: {shared}")
    engine = load(args.engine)
    version = engine.curl_version()
    number = version.split()[0].removeprefix("libcurl/")
    if not number.startswith(args.expect_libcurl):
        problems.append(f"runs on libcurl {number}, expected {args.expect_libcurl}")
    print(f"{args.engine}: {version}")
    print(f"  needs {', '.join(libs)}; features {', '.join(sorted(engine.features()))}")
    for problem in problems:
        print(f"  FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
