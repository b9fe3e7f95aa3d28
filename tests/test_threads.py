"""One Session shared by many threads: transfers run in parallel with the
GIL released, each thread's slot keeps its own connections (libcurl does not
support a connection pool shared by concurrent threads: with libcurl 8 that
crashed in the pool's lookup), and nothing is lost or mixed up."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from servers.nginx import NginxH2

pytestmark = pytest.mark.skipif(
    shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx"),
    reason="nginx is not installed (make test installs nginx-light)",
)

THREADS = 8
PER_THREAD = 3000

# In a child process: a crash there is a failed test here, not a dead suite.
HAMMER = textwrap.dedent(
    """
    import json, sys, threading, requestx
    http1, tls, ca = sys.argv[1:4]
    threads, per_thread = int(sys.argv[4]), int(sys.argv[5])
    s = requestx.Session()
    statuses, bodies, errors = [], set(), []
    def work(i):
        try:
            # plain HTTP to one URL, as little Python as can be between two
            # requests: the most transfers at once (libcurl 8's shared pool
            # crashed in a quarter of such runs)
            for n in range(per_thread):
                statuses.append(s.get(http1).status_code)
            bodies.add(s.get(http1).text)
            # and TLS, whose sessions the threads share
            bodies.add(s.get(tls, verify=ca).text)
        except BaseException as exc:
            errors.append(repr(exc))
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    s.close()
    ok = statuses.count(200)
    print(json.dumps({"count": ok, "bodies": sorted(bodies), "errors": errors[:3]}))
    """
)


@pytest.fixture(scope="module")
def nginx(tls_materials):
    with NginxH2(tls_materials.server_pem) as server:
        yield server


def test_eight_threads_share_one_session_without_losing_or_crashing(nginx, tls_materials):
    nginx.reset_log()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            HAMMER,
            nginx.http1_url,
            nginx.tls_url,
            tls_materials.ca_file,
            str(THREADS),
            str(PER_THREAD),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    result = json.loads(out.stdout)
    assert result == {
        "count": THREADS * PER_THREAD,
        "bodies": ["h2 ok", "http/1.1 ok"],
        "errors": [],
    }
    # every request reached nginx, over a handful of kept connections per
    # thread rather than one per request
    log = nginx.log()
    assert len(log) == THREADS * (PER_THREAD + 2)
    connections = {serial for serial, _ in log}
    assert len(connections) <= 4 * THREADS, len(connections)
