"""A blocking request can be interrupted: Ctrl-C (SIGINT) and other signal
handlers run while requestx waits on the network, as they do with requests."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

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
    assert float(out.stdout.strip()) < 1.5


def test_ctrl_c_interrupts_a_stalled_request(fault_server):
    code = "import requestx, sys; print('ready', flush=True); requestx.get(sys.argv[1])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, fault_server + "/stall-headers"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)  # well inside the request
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - sent < 2
    assert "KeyboardInterrupt" in err
