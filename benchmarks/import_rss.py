"""RSS right after importing one client: ``python import_rss.py ADAPTER``.

Run by peers.py in a fresh process of the peer's interpreter (its own
virtualenv, requestx from the run's snapshot): reads the resident set size
(``/proc/self/statm``) of the bare interpreter, imports ``adapters.ADAPTER``
(and so the client library, as a worker would), reads it again and prints
one JSON line: {"before_mb", "after_mb"}.  Nothing but the standard
library's ``sys`` and ``os`` is imported before the first reading.
"""

import os
import sys


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main(argv: list) -> int:
    before = rss_mb()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        __import__(f"adapters.{argv[0]}")
    except Exception as exc:  # reported, not raised: the peer's probe says more
        after, error = None, f"{type(exc).__name__}: {exc}"
    else:
        after, error = rss_mb(), None
    import json

    reply = {"before_mb": before, "after_mb": after} if error is None else {"error": error}
    print(json.dumps(reply))
    return 0 if error is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
