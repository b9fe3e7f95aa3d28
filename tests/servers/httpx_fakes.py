"""Loopback servers for the httpx transport tests, beyond those of fault.py.

``HttpxFaultServer``: the fault server with more endpoints:

  /bad-status-line    "HTTP/1.1 abc Broken": a status line that is not HTTP
  /not-http           a reply that is no HTTP at all, then close
  /peer               200, body = the client's address and port ("127.0.0.2 51234")
  /hold               never answers; ends (and leaves open_connection_ids()) as soon
                      as the client closes the connection
  /sse-gated          text/event-stream (chunked): event "first", then waits for the
                      gate named by ?gate= (or the X-Gate header), then "second", "third"
  /v1/chat/completions  OpenAI's chat completions: with "stream": true, SSE chunks of
                      STREAM_TOKENS ending with "data: [DONE]", else one JSON completion
  /v1/messages        Anthropic's messages: with "stream": true, its event sequence
                      (message_start ... message_stop), else one JSON message

  The streaming fakes send the first token, then wait for the gate named by the
  X-Gate request header (if any) before the rest, so a test can prove that the
  first token reached the caller before the server sent the second.

``UnixSocketServer``: a tiny HTTP/1.1 server on a Unix socket (for ``uds=``):
  every request gets 200 with JSON {"method", "path", "host"}.

``UploadProbeServer``: reads a request body as it arrives and counts it, so that
  a test can wait until the server has received N body bytes while its producer
  still holds the rest; answers 200 with the total once the body is complete.
"""

from __future__ import annotations

import json
import os
import select
import socket
import socketserver
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler

from .fault import GATE_LIMIT, POLL, STALL_LIMIT, FaultServer, _chunk

STREAM_TOKENS = ["Hel", "lo", ", wor", "ld", "!"]

_SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def _bad_status_line(server, conn, req) -> bool:
    conn.send(b"HTTP/1.1 abc Broken\r\nContent-Length: 2\r\n\r\nok")
    conn.close()
    return False


def _not_http(server, conn, req) -> bool:
    conn.send(b"SSH-2.0-OpenSSH_9.2 this is not an HTTP server\r\n")
    conn.close()
    return False


def _peer(server, conn, req) -> bool:
    host, port = conn.sock.getpeername()[:2]
    conn.respond(req, 200, f"{host} {port}".encode())
    return True


def _hold(server, conn, req) -> bool:
    deadline = time.monotonic() + STALL_LIMIT
    while time.monotonic() < deadline and not server.stopping:
        readable, _, _ = select.select([conn.sock], [], [], POLL)
        if readable:
            try:
                if not conn.sock.recv(1):
                    break
            except OSError:
                break
    conn.close()
    return False


def _wait_gate(server, token) -> bool:
    """Wait for the test to open gate ``token``; False if the server stops."""
    if token is None:
        return not server.stopping
    gate = server.gate(token)
    gate.first_sent.set()
    gate.opened.wait(GATE_LIMIT)
    return not server.stopping


def _sse_gated(server, conn, req) -> bool:
    conn.send(_SSE_HEAD + _chunk(b"event: first\ndata: one\n\n"))
    if not _wait_gate(server, req.arg("gate") or req.header("X-Gate")):
        return False
    conn.send(_chunk(b"event: second\ndata: two\nid: 2\n\n"))
    conn.send(_chunk(b"data: three\ndata: lines\n\n") + b"0\r\n\r\n")
    return True


def _stream_events(server, conn, req, events: list) -> bool:
    """The first event, the gate, then the others, one chunk each."""
    conn.send(_SSE_HEAD + _chunk(events[0]))
    if not _wait_gate(server, req.header("X-Gate")):
        return False
    for event in events[1:]:
        conn.send(_chunk(event))
    conn.send(b"0\r\n\r\n")
    return True


def _openai_chunk(delta: dict, finish=None) -> bytes:
    chunk = {
        "id": "chatcmpl-requestx",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-fake",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _openai_chat(server, conn, req) -> bool:
    spec = json.loads(req.body or b"{}")
    if not spec.get("stream"):
        completion = {
            "id": "chatcmpl-requestx",
            "object": "chat.completion",
            "created": 1700000000,
            "model": spec.get("model", "gpt-fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(STREAM_TOKENS)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
        }
        conn.respond(req, 200, json.dumps(completion).encode(), content_type="application/json")
        return True
    events = [_openai_chunk({"role": "assistant", "content": STREAM_TOKENS[0]})]
    events += [_openai_chunk({"content": token}) for token in STREAM_TOKENS[1:]]
    events += [_openai_chunk({}, finish="stop"), b"data: [DONE]\n\n"]
    return _stream_events(server, conn, req, events)


def _anthropic_event(kind: str, data: dict) -> bytes:
    data = {"type": kind, **data}
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def _anthropic_messages(server, conn, req) -> bool:
    spec = json.loads(req.body or b"{}")
    message = {
        "id": "msg_requestx",
        "type": "message",
        "role": "assistant",
        "model": spec.get("model", "claude-fake"),
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    if not spec.get("stream"):
        message.update(
            content=[{"type": "text", "text": "".join(STREAM_TOKENS)}], stop_reason="end_turn"
        )
        conn.respond(req, 200, json.dumps(message).encode(), content_type="application/json")
        return True
    events = [
        _anthropic_event("message_start", {"message": {**message, "content": []}}),
        _anthropic_event(
            "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
        ),
    ]
    events += [
        _anthropic_event(
            "content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": token}}
        )
        for token in STREAM_TOKENS
    ]
    events += [
        _anthropic_event("content_block_stop", {"index": 0}),
        _anthropic_event(
            "message_delta",
            {
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        ),
        _anthropic_event("message_stop", {}),
    ]
    # the gate sits after the first token, not after the preamble
    first = b"".join(events[:3])
    return _stream_events(server, conn, req, [first, *events[3:]])


class HttpxFaultServer(FaultServer):
    routes = {
        **FaultServer.routes,
        "/bad-status-line": _bad_status_line,
        "/not-http": _not_http,
        "/peer": _peer,
        "/hold": _hold,
        "/sse-gated": _sse_gated,
        "/v1/chat/completions": _openai_chat,
        "/v1/messages": _anthropic_messages,
    }


# ---------------------------------------------------------------------------
# A Unix socket server
# ---------------------------------------------------------------------------


class _UnixHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {"method": self.command, "path": self.path, "host": self.headers.get("Host")}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def address_string(self) -> str:
        return "unix"

    def log_message(self, *args) -> None:
        pass


class UnixSocketServer:
    """``with UnixSocketServer() as s:`` s.path is the socket's path."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="requestx-uds-")
        self.path = os.path.join(self._dir, "http.sock")
        self._server = socketserver.ThreadingUnixStreamServer(self.path, _UnixHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> UnixSocketServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        os.unlink(self.path)
        os.rmdir(self._dir)


# ---------------------------------------------------------------------------
# A server that counts a request body as it arrives
# ---------------------------------------------------------------------------


class UploadProbeServer:
    """One request per connection. ``received`` counts the body bytes of the
    current request as they arrive (chunked framing included); ``wait_received(n)``
    blocks until at least n have. The answer is 200 with the decoded total."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(POLL)
        self._stop = threading.Event()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.received = 0
        self._progress = threading.Condition()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> UploadProbeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def wait_received(self, n: int, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._progress:
            while self.received < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._progress.wait(left)
            return True

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    self._serve(conn)
                except OSError:
                    pass

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        reader = conn.makefile("rb")
        reader.readline()  # the request line
        fields = {}
        for line in iter(reader.readline, b"\r\n"):
            if not line:
                return  # the client went away mid-head
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        length = fields.get(b"content-length")
        chunked = fields.get(b"transfer-encoding", b"").lower() == b"chunked"
        body = b""

        def complete() -> bool:
            if chunked:
                return body.endswith(b"0\r\n\r\n")
            return length is None or len(body) >= int(length)

        while not complete():
            piece = reader.read1(65536)  # what has arrived, as it arrives
            if not piece:
                return
            body += piece
            with self._progress:
                self.received = len(body)
                self._progress.notify_all()
        answer = b"%d" % len(_unchunk(body) if chunked else body)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
        )


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out
