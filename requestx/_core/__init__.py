"""The core under every face: what Session, AsyncSession and the httpx
transports share, and none of them owns.

    base.py      BaseSession: everything a session does that is not I/O
                 (attributes and pickling, preparing a request, the
                 environment merge, the redirect policy, building responses,
                 hooks). Session and AsyncSession are its siblings.
    settings.py  engine settings: TLS verification and client certificates,
                 the proxy URL and how it is used, one bounded cache of
                 _engine.Settings objects.
    aio.py       the per-event-loop completion port and the producer of a
                 streamed request body, for AsyncSession and the transports.

Imports only go down: the core imports the model (models, _wire, _headers,
_url, _body, _raw), the helpers (cookies, auth, structures), the exceptions
and the engine, never a face.
"""
