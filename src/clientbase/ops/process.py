"""How a serving process settles once the application is loaded."""

import gc

from django.urls import get_resolver

# Container allocations (net of frees) between two young-generation
# collections; Python's default is 700. A request for 50 prices allocates
# tens of thousands of short-lived objects, so at 700 the collector ran ~140
# times every 300 such requests, 0.2–1.3 ms a request on this project's
# 2-core machine (docs/scaling.md "The garbage collector"); at 50,000 it runs
# between requests' worth of garbage, and what cyclic garbage there is waits
# at most that many objects.
YOUNG_THRESHOLD = 50_000


def settle_for_serving() -> None:
    """Import everything a request will need (the URLconf and with it every
    view and API schema), then move all those long-lived objects out of the
    garbage collector's sight (`gc.freeze`): they are never garbage, and
    scanning them on every older-generation collection was most of its cost.
    Then collect young objects less often. Called once per worker process by
    clientbase.wsgi, after Django is set up."""
    get_resolver().url_patterns  # noqa: B018 (imports the views)
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
