"""HTTP Digest authentication against httpbin's digest endpoints (a real
server-side implementation of RFC 7616), differential with requests, through
both faces (``face``: Session and AsyncSession, tests/_session_faces.py)."""

from __future__ import annotations

import pytest
import requests
from _session_faces import face_fixture  # noqa: F401 - the "face" fixture

from requestx.auth import HTTPDigestAuth


@pytest.mark.parametrize("algorithm", ["MD5", "MD5-sess", "SHA-256", "SHA-512"])
def test_digest_auth_answers_the_challenge(face, httpbin, algorithm):
    url = httpbin + f"/digest-auth/auth/user/pass/{algorithm}"
    r = face.request("GET", url, auth=HTTPDigestAuth("user", "pass"))
    assert r.status_code == 200
    assert r.json() == {"authenticated": True, "user": "user"}
    assert [h.status_code for h in r.history] == [401]
    assert r.request.headers["Authorization"].startswith("Digest ")


def test_digest_auth_wrong_password_gives_401_after_one_retry(face, httpbin):
    url = httpbin + "/digest-auth/auth/user/pass/MD5"
    r = face.request("GET", url, auth=HTTPDigestAuth("user", "wrong"))
    assert r.status_code == 401
    assert len(r.history) == 1


def test_digest_auth_without_challenge_sends_nothing(face, httpbin):
    r = face.request("GET", httpbin + "/get", auth=HTTPDigestAuth("user", "pass"))
    assert r.status_code == 200
    assert "Authorization" not in r.json()["headers"]


def test_digest_auth_reuses_the_nonce_with_a_growing_count(face, httpbin):
    auth = HTTPDigestAuth("user", "pass")
    url = httpbin + "/digest-auth/auth/user/pass/MD5"
    with face.session() as s:
        first = s.get(url, auth=auth)
        assert first.status_code == 200
        second = s.get(url, auth=auth)
    # the second request answers the remembered challenge up front: nc=2
    sent = (
        second.history[0].request.headers["Authorization"]
        if second.history
        else (second.request.headers["Authorization"])
    )
    assert "nc=00000002" in sent


def test_digest_auth_on_session(face, httpbin):
    with face.session() as s:
        s.auth = HTTPDigestAuth("user", "pass")
        r = s.get(httpbin + "/digest-auth/auth/user/pass/SHA-256")
    assert r.status_code == 200


def test_digest_auth_with_post_body(face, httpbin):
    url = httpbin + "/digest-auth/auth/user/pass/MD5"
    r = face.request("POST", url, data=b"payload", auth=HTTPDigestAuth("user", "pass"))
    # httpbin answers digest endpoints for GET only; what matters is the same
    # outcome as requests, with the body sent on both attempts
    expected = requests.post(
        url, data=b"payload", auth=requests.auth.HTTPDigestAuth("user", "pass")
    )
    assert r.status_code == expected.status_code
    assert len(r.history) == len(expected.history)


def test_digest_auth_equality():
    assert HTTPDigestAuth("u", "p") == HTTPDigestAuth("u", "p")
    assert HTTPDigestAuth("u", "p") != HTTPDigestAuth("u", "q")


def test_digest_auth_retry_of_a_streamed_request_reads_the_authorised_body(face, httpbin):
    url = httpbin + "/digest-auth/auth/user/pass"
    r = face.request("GET", url, auth=HTTPDigestAuth("user", "pass"), stream=True)
    assert (r.status_code, [h.status_code for h in r.history]) == (200, [401])
    assert r.json() == {"authenticated": True, "user": "user"}
