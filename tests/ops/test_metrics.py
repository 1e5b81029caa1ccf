"""GET /metrics: off unless METRICS is on; requests by route and status,
latency histograms, the resolver's time and the job queue's depth."""

import pytest
import rq
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from clientbase.ops.readiness import redis_for_queue
from clientbase.transfer.jobs import run_import_job

LIVE_REDIS = "redis://127.0.0.1:6379/9"


def scrape(client=None, **headers) -> dict[tuple, float]:
    """{(sample name, sorted labels): value} of one scrape."""
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.content.decode())
            for s in family.samples}


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_off_by_default():
    response = Client().get("/metrics")
    assert response.status_code == 404
    assert b"clientbase_" not in response.content


@override_settings(METRICS=True)
def test_requests_are_counted_by_route_and_status_with_a_latency_histogram(db):
    # given
    client = Client()
    before = scrape(client)
    # when
    client.get("/healthz")
    client.get("/healthz")
    client.get("/api/v1/contacts/123")  # 401: no credentials
    after = scrape(client)
    # then
    ok = {"method": "GET", "route": "healthz", "status": "200"}
    assert value(after, "clientbase_http_requests_total", **ok) - value(
        before, "clientbase_http_requests_total", **ok) == 2
    refused = {"method": "GET", "route": "api/v1/contacts/<ident>", "status": "401"}
    assert value(after, "clientbase_http_requests_total", **refused) - value(
        before, "clientbase_http_requests_total", **refused) == 1
    count = ("clientbase_http_request_duration_seconds_count", {"method": "GET", "route": "healthz"})
    assert value(after, count[0], **count[1]) - value(before, count[0], **count[1]) == 2
    assert value(after, "clientbase_http_request_duration_seconds_bucket", method="GET", route="healthz",
                 le="+Inf") == value(after, count[0], **count[1])


@override_settings(METRICS=True)
def test_the_route_label_is_the_url_pattern_not_the_path(db):
    client = Client()
    client.get("/api/v1/contacts/1")
    client.get("/api/v1/contacts/2")
    routes = {dict(labels)["route"] for name, labels in scrape(client)
              if name == "clientbase_http_requests_total"}
    assert not any(r.endswith("/1") or r.endswith("/2") for r in routes)


@override_settings(METRICS=True)
def test_the_resolver_s_time_is_a_histogram(caller, priced):
    # given
    admin = caller("admin")
    before = value(scrape(), "clientbase_price_resolve_seconds_count")
    # when
    assert admin.get("/prices/resolve", sku="TS-M", market="EU").status_code == 200
    # then
    after = scrape()
    assert value(after, "clientbase_price_resolve_seconds_count") == before + 1
    assert value(after, "clientbase_price_resolve_seconds_bucket", le="+Inf") == before + 1


@override_settings(METRICS=True)
def test_the_database_queue_s_depth_counts_the_jobs_waiting(db):
    # given
    assert value(scrape(), "clientbase_jobs_queue_depth", queue="default") == 0
    # when: a job waits (no worker runs in tests)
    run_import_job.enqueue("00000000-0000-0000-0000-000000000000")
    # then
    assert value(scrape(), "clientbase_jobs_queue_depth", queue="default") == 1


@pytest.fixture
def rq_queue():
    """The RQ queue "default", empty, on Redis db 9, as the job queue."""
    with override_settings(TASKS_BACKEND="rq", RQ_QUEUES={"default": {"URL": LIVE_REDIS}}):
        queue = rq.Queue("default", connection=redis_for_queue())
        queue.empty()
        yield queue
        queue.empty()


@override_settings(METRICS=True)
def test_the_rq_queue_s_depth_is_its_length_in_redis(db, rq_queue):
    assert value(scrape(), "clientbase_jobs_queue_depth", queue="default") == 0
    rq_queue.enqueue("os.getcwd")
    rq_queue.enqueue("os.getcwd")
    assert value(scrape(), "clientbase_jobs_queue_depth", queue="default") == 2


@override_settings(METRICS=True, METRICS_TOKEN="s3cret-token")
def test_with_a_token_metrics_answer_only_to_its_bearer(db):
    client = Client()
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert scrape(client, Authorization="Bearer s3cret-token")


@override_settings(METRICS=True, METRICS_ALLOWED_NETWORKS=["10.0.0.0/8"])
def test_metrics_refuse_addresses_outside_the_allowed_networks(db):
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403
    assert scrape(Client(REMOTE_ADDR="10.1.2.3"))


@override_settings(METRICS=True)
def test_the_metrics_answer_sets_no_cookie(db):
    assert not Client().get("/metrics").cookies
