"""TLS: verify= (True, CA file, CA directory, False), cert= client
certificates, and the environment's CA bundle (through both faces: ``face``,
Session and AsyncSession, tests/_session_faces.py).

All servers use certificates from a throw-away trustme CA that no system
store trusts.
"""

from __future__ import annotations

import warnings

import pytest
from _session_faces import face_fixture  # noqa: F401 - the "face" fixture

import requestx
from requestx.exceptions import SSLError


def test_default_verification_rejects_untrusted_ca(tls_server):
    with pytest.raises(SSLError):
        requestx.get(tls_server + "/ok")


def test_verify_true_rejects_untrusted_ca(tls_server):
    with pytest.raises(SSLError):
        requestx.get(tls_server + "/ok", verify=True)


def test_ssl_error_is_a_connection_error(tls_server):
    with pytest.raises(requestx.exceptions.ConnectionError):
        requestx.get(tls_server + "/ok")


def test_verify_with_ca_file_passes(tls_server, tls_materials):
    r = requestx.get(tls_server + "/json", verify=tls_materials.ca_file)
    assert r.json() == {"method": "GET", "path": "/json", "scheme": "https"}


def test_verify_with_ca_directory_passes(tls_server, tls_materials):
    if tls_materials.ca_dir is None:
        pytest.skip("openssl is not available to hash the CA directory")
    r = requestx.get(tls_server + "/ok", verify=tls_materials.ca_dir)
    assert r.text == "ok\n"


def test_verify_false_skips_verification(tls_server):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = requestx.get(tls_server + "/ok", verify=False)
    assert r.text == "ok\n"


def test_verify_with_missing_ca_path_raises_oserror(tls_server, tmp_path):
    with pytest.raises(OSError):
        requestx.get(tls_server + "/ok", verify=str(tmp_path / "no-such-ca.pem"))


def test_hostname_mismatch_is_rejected(tls_wrong_host_server, tls_materials):
    with pytest.raises(SSLError):
        requestx.get(tls_wrong_host_server + "/ok", verify=tls_materials.ca_file)


def test_localhost_name_is_verified(tls_server, tls_materials):
    url = f"https://localhost:{tls_server.port}/ok"
    assert requestx.get(url, verify=tls_materials.ca_file).text == "ok\n"


def test_session_verify_ca_file(session, tls_server, tls_materials):
    session.verify = tls_materials.ca_file
    assert session.get(tls_server + "/ok").text == "ok\n"


def test_request_verify_overrides_session_verify(session, tls_server, tls_materials):
    session.verify = tls_materials.ca_file
    with pytest.raises(SSLError):
        session.get(tls_server + "/ok", verify=True)


def test_session_recovers_after_ssl_error(session, tls_server, tls_materials, httpbin):
    with pytest.raises(SSLError):
        session.get(tls_server + "/ok")
    assert session.get(tls_server + "/ok", verify=tls_materials.ca_file).text == "ok\n"
    assert session.get(httpbin + "/get").status_code == 200


def test_httpbin_secure_with_ca_file(httpbin_secure, tls_materials):
    r = requestx.get(httpbin_secure + "/get", verify=tls_materials.ca_file)
    assert r.json()["url"] == httpbin_secure + "/get"


# ---------------------------------------------------------------------------
# the environment's CA bundle
# ---------------------------------------------------------------------------


def test_requests_ca_bundle_env_is_trusted(face, monkeypatch, tls_server, tls_materials):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls_materials.ca_file)
    assert face.request("GET", tls_server + "/ok").text == "ok\n"


def test_curl_ca_bundle_env_is_trusted(face, monkeypatch, tls_server, tls_materials):
    monkeypatch.setenv("CURL_CA_BUNDLE", tls_materials.ca_file)
    assert face.request("GET", tls_server + "/ok").text == "ok\n"


def test_trust_env_false_ignores_ca_bundle_env(face, monkeypatch, tls_server, tls_materials):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls_materials.ca_file)
    with face.session() as s:
        s.trust_env = False
        with pytest.raises(SSLError):
            s.get(tls_server + "/ok")


def test_explicit_verify_beats_ca_bundle_env(
    face, monkeypatch, tls_server, tls_materials, tmp_path
):
    other_ca = tmp_path / "other-ca.pem"
    import trustme

    trustme.CA().cert_pem.write_to_path(str(other_ca))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other_ca))
    assert face.request("GET", tls_server + "/ok", verify=tls_materials.ca_file).text == "ok\n"


# ---------------------------------------------------------------------------
# client certificates
# ---------------------------------------------------------------------------


def test_client_cert_and_key_pair_is_accepted(tls_client_cert_server, tls_materials):
    r = requestx.get(
        tls_client_cert_server + "/client-cert",
        verify=tls_materials.ca_file,
        cert=(tls_materials.client_cert_file, tls_materials.client_key_file),
    )
    assert r.json() == {"client_cert": True, "names": ["client.requestx.test"]}


def test_client_cert_combined_file_is_accepted(tls_client_cert_server, tls_materials):
    r = requestx.get(
        tls_client_cert_server + "/client-cert",
        verify=tls_materials.ca_file,
        cert=tls_materials.client_combined_file,
    )
    assert r.json()["client_cert"] is True


def test_missing_client_cert_is_rejected(tls_client_cert_server, tls_materials):
    with pytest.raises(requestx.exceptions.ConnectionError):
        requestx.get(tls_client_cert_server + "/client-cert", verify=tls_materials.ca_file)


def test_session_cert_is_used(session, tls_client_cert_server, tls_materials):
    session.verify = tls_materials.ca_file
    session.cert = (tls_materials.client_cert_file, tls_materials.client_key_file)
    assert session.get(tls_client_cert_server + "/client-cert").json()["client_cert"] is True


def test_server_without_client_cert_requirement_sees_none(tls_server, tls_materials):
    r = requestx.get(tls_server + "/client-cert", verify=tls_materials.ca_file)
    assert r.json() == {"client_cert": False, "names": []}


def test_missing_client_cert_file_raises_oserror(tls_client_cert_server, tls_materials, tmp_path):
    with pytest.raises(OSError):
        requestx.get(
            tls_client_cert_server + "/client-cert",
            verify=tls_materials.ca_file,
            cert=str(tmp_path / "missing.pem"),
        )
