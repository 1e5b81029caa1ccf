"""The operators' door: health and readiness for load balancers, one JSON log
line per request with a request id, and Prometheus metrics (what `serve`
adds to granian for them: clientbase.cli.serving)."""
