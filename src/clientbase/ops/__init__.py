"""The operators' door: health and readiness for load balancers, one JSON log
line per request with a request id, Prometheus metrics, and what `serve`
needs to collect metrics across its worker processes."""
