"""A requests-style script, type-checked (never run) by tests/test_typing.py.

It uses the public API the way users of requests do, so `mypy --strict` on it
checks requestx's annotations (and, following the imports, requestx itself)
against what requests' stubs promise.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Iterator
from typing import Any, Optional

import httpx

import requestx
from requestx import exceptions
from requestx.structures import CaseInsensitiveDict

BASE = "https://api.example.com"


def module_functions() -> int:
    r = requestx.get(f"{BASE}/items", params={"page": 2}, timeout=5)
    r.raise_for_status()
    total = r.status_code + 1
    items: list[dict[str, Any]] = r.json()
    for item in items:
        print(item["name"])
    created = requestx.post(f"{BASE}/items", json={"name": "x"}, timeout=(3.05, 27))
    content_type: Optional[str] = created.headers.get("Content-Type")
    length = int(created.headers["Content-Length"])
    requestx.put(f"{BASE}/items/1", data=b"raw", headers={"Content-Type": "text/plain"})
    requestx.patch(f"{BASE}/items/1", data={"field": "value"})
    requestx.delete(f"{BASE}/items/1")
    requestx.head(BASE, allow_redirects=True)
    requestx.options(BASE)
    requestx.request("GET", BASE, cookies={"a": "b"})
    print(content_type, r.ok, r.reason.upper(), r.url.startswith("https"), r.encoding)
    return total + length + len(r.content or b"") + len(r.text)


def a_session() -> None:
    with requestx.Session() as s:
        s.headers["Authorization"] = "Bearer token"
        s.headers.update({"Accept": "application/json"})
        s.auth = ("user", "secret")
        s.params = {"api-version": "2"}
        s.verify = True
        r = s.get(f"{BASE}/me", timeout=(3, 10))
        headers: CaseInsensitiveDict[str] = r.headers
        elapsed: datetime.timedelta = r.elapsed
        print(headers, elapsed.total_seconds(), r.cookies.get_dict(), r.history)
        r2 = s.post(f"{BASE}/items", json={"name": "y"}, auth=requestx.HTTPBasicAuth("u", "p"))
        prepared: requestx.PreparedRequest = r2.request
        print(prepared.method, prepared.url, r2.links, r2.is_redirect)

        with s.get(f"{BASE}/export", stream=True, timeout=30) as big:
            size = 0
            for chunk in big.iter_content(chunk_size=8192):
                size += len(chunk)
        lines = s.get(f"{BASE}/log", stream=True)
        for line in lines.iter_lines(decode_unicode=True):
            if line:
                print(json.loads(line))
        lines.close()

        req = requestx.Request("GET", f"{BASE}/prepared", headers={"X-Trace": "1"})
        prep = s.prepare_request(req)
        sent = s.send(prep, timeout=5)
        print(sent.status_code >= 400, size)


def errors() -> Optional[requestx.Response]:
    try:
        return requestx.get(f"{BASE}/slow", timeout=0.5)
    except requestx.ConnectTimeout:
        print("could not connect in time")
    except requestx.ReadTimeout as exc:
        print("no answer", exc.request)
    except exceptions.Timeout:
        print("some other timeout")
    except requestx.HTTPError as exc:
        print("HTTP error", exc.response)
    except requestx.JSONDecodeError as exc:
        print(exc.msg, exc.pos)
    except requestx.ConnectionError:
        print("connection failed")
    except requestx.RequestException as exc:
        print("failed:", exc)
    return None


def status_names(r: requestx.Response) -> bool:
    return r.status_code == requestx.codes.ok or r.status_code == requestx.codes["not_found"]


def server_sent_events() -> Iterator[str]:
    r = requestx.get(f"{BASE}/events", stream=True)
    for event in r.iter_sse():
        yield event.data


async def fetch_all(urls: list[str]) -> list[int]:
    async with requestx.AsyncSession(max_connections=10) as s:
        s.headers["User-Agent"] = "typed-script"
        pages = await asyncio.gather(*(s.get(u) for u in urls))
        one = await s.post(f"{BASE}/items", json={"name": "z"}, timeout=10)
        async with s.stream("GET", f"{BASE}/big") as streamed:
            async for piece in streamed.aiter_content(4096):
                print(len(piece))
        return [p.status_code for p in pages] + [one.status_code]


def with_httpx() -> int:
    with httpx.Client(transport=requestx.HTTPTransport()) as client:
        response = client.get(f"{BASE}/items")
        return response.status_code


async def with_httpx_async() -> int:
    async with httpx.AsyncClient(transport=requestx.AsyncHTTPTransport()) as client:
        response = await client.get(f"{BASE}/items")
        return response.status_code


if __name__ == "__main__":
    print(module_functions(), asyncio.run(fetch_all([BASE])), with_httpx(), errors())
