"""GET /healthz, GET /readyz and GET /metrics (docs/scaling.md, "Operations").

None of them sets a cookie or reads the session, and all three are exempt
from SECURE_SSL_REDIRECT (settings.SECURE_REDIRECT_EXEMPT), so a load
balancer's or Prometheus's plain-HTTP request to the instance is answered."""

import ipaddress
import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from clientbase.customers.throttling import client_address
from clientbase.ops import readiness


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process answers; touches nothing else (a load balancer
    that restarts on failure must not restart app servers for a database
    outage)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when every database, the cache and the job queue answer; 503
    naming each that did not, with a one-line reason (no trace, no secret)."""
    checked, failed = readiness.failures()
    body = {"status": "unavailable" if failed else "ok",
            "checks": {name: ("failed" if name in failed else "ok") for name in checked}}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)


def _networks() -> list:
    return [ipaddress.ip_network(n.strip(), strict=False)
            for n in settings.METRICS_ALLOWED_NETWORKS if n.strip()]


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus exposition of every worker's metrics; 404 unless
    METRICS is on, 403 from outside METRICS_ALLOWED_NETWORKS (when set), 401
    without METRICS_TOKEN as a bearer token (when set)."""
    if not settings.METRICS:
        return HttpResponse("Metrics are off (METRICS=1 turns them on).\n", status=404,
                            content_type="text/plain; charset=utf-8")
    if networks := _networks():
        try:
            address = ipaddress.ip_address(client_address(request) or "")
        except ValueError:
            address = None
        if address is None or not any(address in network for network in networks):
            return HttpResponse("Not from an allowed network.\n", status=403,
                                content_type="text/plain; charset=utf-8")
    if token := settings.METRICS_TOKEN:
        sent = request.headers.get("Authorization", "")
        if not secrets.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            response = HttpResponse("A bearer token is required.\n", status=401,
                                    content_type="text/plain; charset=utf-8")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    from clientbase.ops.exposition import CONTENT_TYPE, exposition

    return HttpResponse(exposition(), content_type=CONTENT_TYPE)
