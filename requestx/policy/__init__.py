"""The production policy of a call, written once for every face.

    retry.py     Retry (urllib3's, with the same names and defaults) and the
                 decisions the retry loop asks of it
    breaker.py   CircuitBreaker: per-origin circuits consulted per attempt
    deadline.py  Timeout(connect, read, total) and the deadline of a call
    call.py      the loop around one hop: deadline -> retries -> per attempt
                 the breaker, the engine, the classification of the outcome

Between the core (what a request is) and the engine (sending it): the
faces hand the loop one attempt at a time and get a Response or an
exception back.
"""
