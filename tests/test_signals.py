"""A blocking request can be interrupted: Ctrl-C (SIGINT) and other signal
handlers run while requestx waits on the network, as they do with requests."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

from servers.fault import STALL_LIMIT

# An uninterrupted request to a stall endpoint lasts STALL_LIMIT (10 s), until
# the server gives up; an interrupted one ends when the signal arrives. Half
# the stall tells the two apart however slow a busy machine makes the start-up.
INTERRUPTED_WITHIN = STALL_LIMIT / 2

SCRIPT = textwrap.dedent(
    """
    import signal, sys, time, requestx
    url = sys.argv[1]
    def on_alarm(signum, frame):
        raise TimeoutError("alarm")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    start = time.monotonic()
    try:
        requestx.get(url)  # no timeout: only the signal can end this
    except TimeoutError:
        print(round(time.monotonic() - start, 2))
    """
)


def test_signal_handler_interrupts_a_stalled_request(fault_server):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, fault_server + "/stall-headers"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip()) < INTERRUPTED_WITHIN


def test_ctrl_c_interrupts_a_stalled_request(fault_server):
    # the child times its own request: from just before it to the interrupt
    code = textwrap.dedent(
        """
        import sys, time, requestx
        start = time.monotonic()
        try:
            print("ready", flush=True)
            requestx.get(sys.argv[1])
        except KeyboardInterrupt:
            print(round(time.monotonic() - start, 2), flush=True)
            raise
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, fault_server + "/stall-headers"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # well inside the request
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=STALL_LIMIT * 2)
    # what the server saw, should the request have ended another way
    seen = (fault_server.hits("/stall-headers"), fault_server.handler_errors[-3:])
    assert "KeyboardInterrupt" in err, (err, seen)
    assert float(out.strip()) < INTERRUPTED_WITHIN
