"""HTTPS test servers backed by a throw-away trustme certificate authority.

``TLSMaterials`` creates, in a directory, everything the TLS tests need:

* ``ca_file``: the CA certificate (PEM) that signs every certificate below;
* ``ca_dir``: a c_rehash-style directory holding the CA as ``<subject-hash>.0``
  (None if the ``openssl`` command is not available to compute the hash);
* ``server_cert``: a trustme ``LeafCert`` for 127.0.0.1 and localhost;
* ``wrong_host_cert``: a leaf for ``wrong-host.requestx.test`` only;
* ``client_cert_file`` / ``client_key_file``: a client certificate and its key,
  and ``client_combined_file``: both in one PEM file.

``TLSServer`` is the raw HTTP server of ``fault.py`` wrapped in TLS, serving a
few simple endpoints, optionally requiring a client certificate signed by the
CA.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess

import trustme

from .fault import RawHTTPServer, _echo_raw, _json, _not_found, _ok, _redirect

CLIENT_IDENTITY = "client.requestx.test"
WRONG_HOST = "wrong-host.requestx.test"


class TLSMaterials:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.ca = trustme.CA()
        self.server_cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.wrong_host_cert = self.ca.issue_cert(WRONG_HOST)
        self.client_cert = self.ca.issue_cert(CLIENT_IDENTITY)

        self.ca_file = os.path.join(directory, "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)

        self.client_cert_file = os.path.join(directory, "client.crt")
        self.client_key_file = os.path.join(directory, "client.key")
        self.client_combined_file = os.path.join(directory, "client.pem")
        self.client_cert.cert_chain_pems[0].write_to_path(self.client_cert_file)
        self.client_cert.private_key_pem.write_to_path(self.client_key_file)
        self.client_cert.private_key_and_cert_chain_pem.write_to_path(self.client_combined_file)

        self.server_pem = os.path.join(directory, "server.pem")  # key + chain, for nginx
        self.server_cert.private_key_and_cert_chain_pem.write_to_path(self.server_pem)

        self.ca_dir = self._make_hashed_dir()

    def _make_hashed_dir(self) -> str | None:
        openssl = shutil.which("openssl")
        if openssl is None:
            return None
        try:
            out = subprocess.run(
                [openssl, "x509", "-subject_hash", "-noout", "-in", self.ca_file],
                check=True,
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
        if not out:
            return None
        ca_dir = os.path.join(self.directory, "ca-dir")
        os.makedirs(ca_dir, exist_ok=True)
        shutil.copyfile(self.ca_file, os.path.join(ca_dir, f"{out}.0"))
        return ca_dir

    def server_context(
        self, leaf: trustme.LeafCert | None = None, require_client_cert: bool = False
    ) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        (leaf or self.server_cert).configure_cert(ctx)
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            self.ca.configure_trust(ctx)
        return ctx


def _client_cert(server, conn, req) -> bool:
    """JSON: the subjectAltName DNS names of the client certificate, if any."""
    peer = conn.sock.getpeercert() if hasattr(conn.sock, "getpeercert") else None
    names = [v for k, v in (peer or {}).get("subjectAltName", ()) if k == "DNS"]
    body = json.dumps({"client_cert": bool(peer), "names": names}).encode()
    conn.respond(req, 200, body, content_type="application/json")
    return True


class TLSServer(RawHTTPServer):
    """HTTPS on 127.0.0.1 with /ok, /json, /echo-raw, /redirect, /client-cert."""

    routes = {
        "/": _ok,
        "/ok": _ok,
        "/json": _json,
        "/echo-raw": _echo_raw,
        "/redirect": _redirect,
        "/client-cert": _client_cert,
        "<proxy>": _not_found,
    }

    def __init__(
        self,
        materials: TLSMaterials,
        leaf: trustme.LeafCert | None = None,
        require_client_cert: bool = False,
    ) -> None:
        self.materials = materials
        super().__init__(ssl_context=materials.server_context(leaf, require_client_cert))
