"""One module per client: how each peer is set up and driven.

Each module is imported by workload.py inside the peer's own virtualenv, so it
imports only its own library.  What a module provides (a missing function
means the scenarios that need it are "not applicable" to that peer; its
``UNSUPPORTED`` dict says why):

``NAME``                              the peer's name in the report
``version() -> str``                  the library's version (and what it is built on)
``open_sync(pool, http2) -> client``  a sync session: ``client.get(url)`` and
                                      ``client.post(url, body)`` return (status,
                                      body length) with the body fully read;
                                      ``client.close()``; ``client.setup`` says
                                      how it was configured, for the report
``async open_async(pool, http2)``     the same for asyncio, with awaitable
                                      ``get``, ``post`` and ``close``
``SYNC_SESSION_THREAD_SAFE``          False if the peer's docs say one session
                                      must not be shared by threads (default True)
``sse_sync(url)``, ``async sse_async(url)``            events read from an SSE stream
``download_sync(url)``, ``async download_async(url)``  bytes read from a streamed body

The adapter of the transport scenarios (httpx_transports.py) is one client,
httpx, over several transports: its ``open_sync`` and ``open_async`` take a
third argument, ``transport``, the name of the transport to put under it.

Every client is set up the way its documentation recommends for throughput:
a session (connection pool, keep-alive) reused for every request, a connection
limit equal to the concurrency of the scenario, HTTP/2 only where the scenario
asks for it, and certificate verification off on the benchmark's self-signed
HTTPS servers (connections are kept alive, so that is one handshake each).
"""
