"""The OpenAI and Anthropic Python SDKs on requestx's transports, unchanged
but for ``http_client=``, against local fakes of their streaming endpoints
(tests/servers/httpx_fakes.py): the streamed tokens arrive, the first one
before the server has sent the rest. The SDKs type-check the client they are
given, so the client is one of the httpx package the SDK is built on (httpx
or httpx2) with the requestx transport inside."""

from __future__ import annotations

import asyncio
import json

import pytest
from _helpers import token
from _httpx_faces import server_fixture  # noqa: F401
from servers.httpx_fakes import STREAM_TOKENS

import requestx

pytestmark = pytest.mark.requestx_only


def _httpx_of(sdk):
    """The httpx package an SDK is built on (newer releases use httpx2)."""
    base = sdk._base_client
    return getattr(base, "httpx2", None) or base.httpx


def _gated(server):
    """A fresh gate: (headers that make the fake wait at it, the gate)."""
    mark = token()
    return {"X-Gate": mark}, server.gate(mark)


def _sdk(name):
    return pytest.importorskip(name, reason=f"the {name} SDK is not installed")


def _last_body(server, path):
    return json.loads(server.requests_to(path)[-1].body)


# ---------------------------------------------------------------------------
# OpenAI
# ---------------------------------------------------------------------------


@pytest.fixture
def openai():
    return _sdk("openai")


def test_openai_streaming_chat(openai, server):
    hx = _httpx_of(openai)
    headers, gate = _gated(server)
    http_client = hx.Client(transport=requestx.HTTPTransport())
    client = openai.OpenAI(
        base_url=server.url + "/v1", api_key="sk-test", http_client=http_client,
        default_headers=headers, max_retries=0,
    )  # fmt: skip
    with client:
        stream = client.chat.completions.create(
            model="gpt-fake", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        chunks = iter(stream)
        first = next(chunks)
        assert first.choices[0].delta.content == STREAM_TOKENS[0]
        assert not gate.second_sent.is_set()  # the rest was not sent yet
        gate.open()
        rest = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert [first.choices[0].delta.content, *rest] == STREAM_TOKENS
    sent = _last_body(server, "/v1/chat/completions")
    assert sent["model"] == "gpt-fake" and sent["stream"] is True
    request = server.requests_to("/v1/chat/completions")[-1]
    assert request.header("Authorization") == "Bearer sk-test"


def test_openai_async_streaming_chat(openai, server):
    hx = _httpx_of(openai)
    headers, gate = _gated(server)

    async def go():
        http_client = hx.AsyncClient(transport=requestx.AsyncHTTPTransport())
        client = openai.AsyncOpenAI(
            base_url=server.url + "/v1", api_key="sk-test", http_client=http_client,
            default_headers=headers, max_retries=0,
        )  # fmt: skip
        async with client:
            stream = await client.chat.completions.create(
                model="gpt-fake", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            chunks = stream.__aiter__()
            first = await chunks.__anext__()
            assert not gate.second_sent.is_set()
            gate.open()
            tokens = [first.choices[0].delta.content]
            async for chunk in chunks:
                if chunk.choices[0].delta.content:
                    tokens.append(chunk.choices[0].delta.content)
            return tokens

    assert asyncio.run(go()) == STREAM_TOKENS


def test_openai_plain_completion(openai, server):
    hx = _httpx_of(openai)
    client = openai.OpenAI(
        base_url=server.url + "/v1", api_key="sk-test", max_retries=0,
        http_client=hx.Client(transport=requestx.HTTPTransport()),
    )  # fmt: skip
    with client:
        completion = client.chat.completions.create(
            model="gpt-fake", messages=[{"role": "user", "content": "hi"}]
        )
    assert completion.choices[0].message.content == "".join(STREAM_TOKENS)


# ---------------------------------------------------------------------------
# Anthropic
# ---------------------------------------------------------------------------


@pytest.fixture
def anthropic():
    return _sdk("anthropic")


def test_anthropic_streaming_messages(anthropic, server):
    hx = _httpx_of(anthropic)
    headers, gate = _gated(server)
    client = anthropic.Anthropic(
        base_url=server.url, api_key="sk-ant-test", default_headers=headers, max_retries=0,
        http_client=hx.Client(transport=requestx.HTTPTransport()),
    )  # fmt: skip
    with client:
        with client.messages.stream(
            model="claude-fake", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            texts = iter(stream.text_stream)
            first = next(texts)
            assert not gate.second_sent.is_set()
            gate.open()
            tokens = [first, *texts]
            final = stream.get_final_message()
    assert tokens == STREAM_TOKENS
    assert final.content[0].text == "".join(STREAM_TOKENS)
    assert final.stop_reason == "end_turn"
    request = server.requests_to("/v1/messages")[-1]
    # the key goes in x-api-key, or (newer SDKs) as a bearer token
    assert "sk-ant-test" in (request.header("x-api-key") or request.header("Authorization"))
    assert _last_body(server, "/v1/messages")["stream"] is True


def test_anthropic_async_streaming_messages(anthropic, server):
    hx = _httpx_of(anthropic)
    headers, gate = _gated(server)

    async def go():
        client = anthropic.AsyncAnthropic(
            base_url=server.url, api_key="sk-ant-test", default_headers=headers, max_retries=0,
            http_client=hx.AsyncClient(transport=requestx.AsyncHTTPTransport()),
        )  # fmt: skip
        async with client:
            async with client.messages.stream(
                model="claude-fake", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
            ) as stream:
                texts = stream.text_stream.__aiter__()
                first = await texts.__anext__()
                assert not gate.second_sent.is_set()
                gate.open()
                return [first] + [text async for text in texts]

    assert asyncio.run(go()) == STREAM_TOKENS


def test_anthropic_plain_message(anthropic, server):
    hx = _httpx_of(anthropic)
    client = anthropic.Anthropic(
        base_url=server.url, api_key="sk-ant-test", max_retries=0,
        http_client=hx.Client(transport=requestx.HTTPTransport()),
    )  # fmt: skip
    with client:
        message = client.messages.create(
            model="claude-fake", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
        )
    assert message.content[0].text == "".join(STREAM_TOKENS)


def test_sdk_default_clients_take_the_transport(openai, anthropic, server):
    """The SDKs' own client classes (with their default timeouts and limits)
    accept the transport too."""
    for sdk in (openai, anthropic):
        if not hasattr(sdk, "DefaultHttpxClient"):
            continue
        with sdk.DefaultHttpxClient(transport=requestx.HTTPTransport()) as http_client:
            assert http_client.get(server + "/ok").text == "ok\n"
