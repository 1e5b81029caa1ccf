"""The text /metrics answers: every worker's counters and histograms (from
PROMETHEUS_MULTIPROC_DIR when `serve` runs several workers, else this
process's), and the job queue's depth, read at scrape time."""

import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from clientbase.core import metrics
from clientbase.ops import readiness

CONTENT_TYPE = CONTENT_TYPE_LATEST
log = logging.getLogger(__name__)


class QueueDepth:
    """clientbase_jobs_queue_depth{queue}: jobs waiting, asked at each scrape
    (a count no worker process could keep right by itself)."""

    def collect(self):
        gauge = GaugeMetricFamily("clientbase_jobs_queue_depth", "Background jobs waiting to run, by queue.",
                                  labels=["queue"])
        try:
            depths = readiness.queue_depth()
        except Exception as exc:  # noqa: BLE001 - a scrape still shows the rest
            log.warning("queue depth unavailable: %s", readiness.reason(exc))
            return
        for queue, depth in sorted(depths.items()):
            gauge.add_metric([queue], depth)
        yield gauge


def exposition() -> bytes:
    """Prometheus's text format."""
    metrics.made()  # so that each family is listed before its first sample
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        workers = generate_latest(registry)
    else:
        workers = generate_latest(REGISTRY)
    queue = CollectorRegistry()
    queue.register(QueueDepth())
    return workers + generate_latest(queue)
