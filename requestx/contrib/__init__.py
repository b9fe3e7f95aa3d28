"""Optional integrations, each importing its own third-party package:

    opentelemetry.py  RequestxInstrumentor: spans and the duration metric
                      (pip install 'requestx[otel]')
    prometheus.py     RequestxCollector: the engine's aggregates at scrape
                      time (pip install 'requestx[prometheus]')

Nothing else in requestx imports these modules or their packages.
"""
