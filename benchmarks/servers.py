"""A private, throwaway nginx for the requestx benchmarks and demo.

``NginxServer`` renders ``benchmarks/nginx/nginx.conf.template`` into its own
run directory under ``benchmarks/.run/``, starts ``nginx`` in the foreground
(``daemon off``) as a child process listening on a free 127.0.0.1 port, waits
until it answers, and stops it again (SIGTERM to nginx's own process group,
then SIGKILL if needed) when the ``with`` block ends -- also on exceptions and
Ctrl-C.  On Linux the nginx master additionally gets ``PR_SET_PDEATHSIG`` so it
does not outlive a parent that is killed outright.

It needs no systemd, no /etc/nginx and no writable /var: everything nginx
writes (pid, error log, temp dirs) stays in the run directory, which is deleted
on stop.  Works as root (workers then run as ``nobody``) and as a normal user.

Usage::

    from servers import NginxServer, JSON_BODY

    with NginxServer() as nginx:
        print(nginx.url("/json"))

Or from a shell, to poke at it by hand::

    .venv/bin/python benchmarks/servers.py --seconds 60
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "nginx" / "nginx.conf.template"
LOCATIONS_TEMPLATE = HERE / "nginx" / "locations.conf.template"
TLS_TEMPLATE = HERE / "nginx" / "tls.conf.template"
RUN_ROOT = HERE / ".run"
HOST = "127.0.0.1"

# The benchmark payload (~100 bytes).  It is pasted into the nginx config
# inside single quotes, so it must not contain ' \ or $.
JSON_BODY = json.dumps(
    {
        "id": 1024,
        "name": "requestx",
        "kind": "benchmark",
        "ok": True,
        "tags": ["http", "json", "keep-alive"],
        "score": 98.6,
    },
    separators=(",", ":"),
)
JSON_BODY_BYTES = JSON_BODY.encode("ascii")

# The bodies under /bytes/: name -> size.  "1g" is a sparse file (nginx sends
# it from the page cache, so the disk is not what is measured).
BODY_SIZES = {
    "1k": 1000,
    "100k": 100_000,
    "1m": 1_000_000,
    "10m": 10_000_000,
    "1g": 1 << 30,
}

_NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


class ServerError(RuntimeError):
    """nginx is missing, failed to start, or did not become ready."""


def find_nginx() -> str | None:
    """Path of the nginx binary (``/usr/sbin`` is often not on a user's PATH)."""
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in _NGINX_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def nginx_version(nginx: str) -> str:
    """``"1.22.1"`` for the given binary (nginx prints its version on stderr)."""
    out = subprocess.run(
        [nginx, "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10, check=False
    ).stdout.decode("utf-8", "replace")
    match = re.search(r"nginx/(\d+(?:\.\d+)*)", out)
    return match.group(1) if match else "unknown"


def free_port(host: str = HOST) -> int:
    """A TCP port that is free right now on ``host`` (nginx may still race us)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _user_directive() -> str:
    """As root, run workers as an unprivileged user; otherwise nginx ignores it."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "# not root: workers run as the current user"
    try:
        import grp
        import pwd

        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid).gr_name
        return f"user nobody {group};"
    except (ImportError, KeyError):
        return "user root;"


def _version_tuple(version: str) -> tuple:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _make_pdeathsig_preexec():
    """preexec_fn asking Linux to SIGTERM the child when we die, or None.

    Only used while the calling process is single-threaded: preexec_fn is not
    safe to combine with threads.
    """
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    return preexec


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune_stale_run_dirs(min_age: float = 60.0) -> None:
    """Delete run dirs left behind by a parent that was killed outright.

    A dir is stale when it is older than ``min_age`` seconds and the nginx
    recorded in its pid file is gone (or it never wrote one).
    """
    if not RUN_ROOT.is_dir():
        return
    now = time.time()
    for run_dir in RUN_ROOT.glob("nginx-*"):
        try:
            if now - run_dir.stat().st_mtime < min_age:
                continue
            pid_text = (run_dir / "nginx.pid").read_text().strip()
            if pid_text.isdigit() and _pid_alive(int(pid_text)):
                continue
        except FileNotFoundError:
            pass
        except OSError:
            continue
        shutil.rmtree(run_dir, ignore_errors=True)


class NginxServer:
    """A foreground nginx child process serving ``/json`` on a loopback port."""

    def __init__(
        self,
        nginx: str | None = None,
        startup_timeout: float = 10.0,
        keep_run_dir: bool = False,
        tls: bool = False,
    ) -> None:
        """``tls=True`` adds two HTTPS ports (self-signed certificate, made
        with the openssl command): ``url(path, "https")`` speaks HTTP/1.1
        only, ``url(path, "h2")`` offers HTTP/2 in ALPN."""
        self.nginx = nginx or find_nginx()
        self.tls = tls
        self.startup_timeout = startup_timeout
        self.keep_run_dir = keep_run_dir
        self.host = HOST
        self.port: int | None = None
        self.tls_port: int | None = None
        self.h2_port: int | None = None
        self.run_dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self._atexit_registered = False

    # -- public API ---------------------------------------------------------

    def url(self, path: str = "/json", kind: str = "http") -> str:
        """URL of ``path`` on the plain port (``kind="http"``), the HTTPS
        HTTP/1.1 port (``"https"``) or the HTTPS HTTP/2 port (``"h2"``)."""
        port = {"http": self.port, "https": self.tls_port, "h2": self.h2_port}[kind]
        if port is None:
            raise ServerError(f"nginx is not running (or has no {kind} port)")
        scheme = "http" if kind == "http" else "https"
        return f"{scheme}://{self.host}:{port}{path}"

    def body_path(self, name: str) -> Path:
        """The file served at ``/bytes/<name>`` (see BODY_SIZES)."""
        if self.run_dir is None:
            raise ServerError("nginx is not running")
        return self.run_dir / "www" / name

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> NginxServer:
        if self.running:
            return self
        if not self.nginx:
            raise ServerError(
                "nginx not found (looked on PATH and in /usr/sbin). "
                "Install it with: apt-get install -y nginx-light"
            )
        if not TEMPLATE.is_file():
            raise ServerError(f"nginx config template missing: {TEMPLATE}")
        for bad in ("'", "\\", "$"):
            if bad in JSON_BODY:
                raise ServerError(f"JSON_BODY must not contain {bad!r}")

        version = nginx_version(self.nginx)
        prune_stale_run_dirs()
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True

        last_error = ""
        for _attempt in range(5):  # retry only if another process grabbed the port
            try:
                self._spawn(version)
                return self
            except _PortTaken as exc:
                last_error = str(exc)
                self.stop()
            except BaseException:
                self.stop()
                raise
        raise ServerError(f"nginx could not bind a free port after 5 attempts:\n{last_error}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                # start_new_session=True made nginx the leader of its own process
                # group (pgid == its pid), which holds exactly its master+workers.
                self._signal_group(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._signal_group(proc, signal.SIGKILL)
                    proc.wait(timeout=5)
        if self.run_dir is not None and not self.keep_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir = None
        self.port = self.tls_port = self.h2_port = None

    def __enter__(self) -> NginxServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------

    @staticmethod
    def _signal_group(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass

    def _spawn(self, version: str) -> None:
        RUN_ROOT.mkdir(parents=True, exist_ok=True)
        port = free_port(self.host)
        run_dir = Path(tempfile.mkdtemp(prefix=f"nginx-{port}-", dir=RUN_ROOT))
        (run_dir / "tmp").mkdir()
        run_dir.chmod(0o755)  # the workers (nobody, when run as root) read www/
        self.port, self.run_dir = port, run_dir
        _write_bodies(run_dir / "www")
        values = {
            "RUN_DIR": str(run_dir),
            "PORT": str(port),
            "USER_DIRECTIVE": _user_directive(),
            "JSON_BODY": JSON_BODY,
        }
        tls_conf = "# no TLS\n"
        if self.tls:
            _make_certificate(run_dir)
            self.tls_port, self.h2_port = free_port(self.host), free_port(self.host)
            values.update(TLS_PORT=str(self.tls_port), H2_PORT=str(self.h2_port))
            tls_conf = _render(TLS_TEMPLATE, values)
        (run_dir / "tls.conf").write_text(tls_conf, encoding="utf-8")
        (run_dir / "locations.conf").write_text(_render(LOCATIONS_TEMPLATE, values))
        conf_path = run_dir / "nginx.conf"
        conf_path.write_text(_render(TEMPLATE, values), encoding="utf-8")

        cmd = [self.nginx, "-p", str(run_dir), "-c", str(conf_path)]
        if _version_tuple(version) >= (1, 19, 5):  # -e appeared in 1.19.5
            cmd += ["-e", str(run_dir / "error.log")]
        output_path = run_dir / "nginx.out"
        with open(output_path, "wb") as output:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group; Ctrl-C is handled by us
                preexec_fn=_make_pdeathsig_preexec(),
                close_fds=True,
            )
        self._wait_ready(run_dir, output_path)

    def _logs(self, run_dir: Path, output_path: Path) -> str:
        text = ""
        for path in (output_path, run_dir / "error.log"):
            try:
                text += path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                pass
        return text.strip()

    def _wait_ready(self, run_dir: Path, output_path: Path) -> None:
        assert self.proc is not None and self.port is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                logs = self._logs(run_dir, output_path)
                if "Address already in use" in logs:
                    raise _PortTaken(logs)
                raise ServerError(
                    f"nginx exited with status {self.proc.returncode} during startup:\n{logs}"
                )
            if self._ping():
                return
            time.sleep(0.02)
        logs = self._logs(run_dir, output_path)
        raise ServerError(f"nginx did not answer within {self.startup_timeout:.0f}s:\n{logs}")

    def _ping(self) -> bool:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=1)
        try:
            conn.request("GET", "/ping")
            resp = conn.getresponse()
            return resp.status == 200 and resp.read() == b"pong"
        except OSError:
            return False
        finally:
            conn.close()


def _render(template: Path, values: dict) -> str:
    """The template with every @NAME@ replaced by values[NAME]."""
    text = template.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise ServerError(f"unrendered placeholders in {template.name}: {leftover}")
    return text


def _write_bodies(www: Path) -> None:
    """The files served at /bytes/ (BODY_SIZES); the large ones are sparse."""
    www.mkdir(mode=0o755)
    for name, size in BODY_SIZES.items():
        with open(www / name, "wb") as f:
            if size <= 10_000_000:
                f.write(bytes(range(256)) * (size // 256) + bytes(size % 256))
            else:
                f.truncate(size)


def _make_certificate(run_dir: Path) -> None:
    """A self-signed certificate for 127.0.0.1 / localhost (cert.pem, key.pem)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ServerError("openssl not found (apt-get install -y openssl)")
    cmd = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    cmd += ["-nodes", "-days", "2", "-subj", "/CN=localhost"]
    cmd += ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    cmd += ["-keyout", str(run_dir / "key.pem"), "-out", str(run_dir / "cert.pem")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        raise ServerError(f"openssl could not make a certificate:\n{proc.stderr.strip()}")


class _PortTaken(ServerError):
    pass


def raise_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt so ``with``/``finally`` blocks run."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmark nginx in the foreground.")
    parser.add_argument(
        "--seconds", type=float, default=600.0, help="stop after this long (default 600)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run directory on exit")
    args = parser.parse_args(argv)

    raise_on_sigterm()
    try:
        with NginxServer(keep_run_dir=args.keep) as nginx:
            print(f"nginx {nginx_version(nginx.nginx)} serving {nginx.url('/json')}")
            print(f"run dir: {nginx.run_dir}")
            print(f"stopping after {args.seconds:.0f}s or on Ctrl-C", flush=True)
            deadline = time.monotonic() + args.seconds
            while time.monotonic() < deadline and nginx.running:
                time.sleep(0.2)
            if not nginx.running:
                print("nginx exited unexpectedly", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        print("\ninterrupted, nginx stopped")
        return 130
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
