"""Client.perform() with each of its Python allocations failing in turn
(_testcapi.set_nomemory): every call either returns a whole result or raises
MemoryError; none crashes or returns a tuple with a hole in it.

Usage: python perform_nomemory.py URL
Prints "<calls that succeeded> <calls that raised MemoryError>".
"""

from __future__ import annotations

import _testcapi
import sys

from requestx import _engine


def main() -> None:
    url = sys.argv[1]
    client = _engine.Client()
    settings = _engine.Settings(
        _engine.HTTP_VERSION_1_1, True, None, None, None, None, None, True, None, None
    )
    headers = (b"Accept: */*",)
    client.perform("GET", url, headers, None, 0.0, 0.0, 0.0, settings, False)  # warm the pool
    ok = failed = 0
    for n in range(1, 40):
        _testcapi.set_nomemory(n, n + 1)  # the n-th allocation from here fails
        try:
            result = client.perform("GET", url, headers, None, 0.0, 0.0, 0.0, settings, False)
        except MemoryError:
            failed += 1
            continue
        finally:
            _testcapi.remove_mem_hooks()
        assert len(result) == 6 and all(item is not None for item in result), result
        ok += 1
    print(ok, failed)


if __name__ == "__main__":
    main()
