"""How a serving process settles once the application is loaded."""

import gc

from django.urls import get_resolver


def settle_for_serving() -> None:
    """Import everything a request will need (the URLconf and with it every
    view and API schema), so that no visitor's request pays for it, then
    move all those long-lived objects out of the garbage collector's sight
    (`gc.freeze`): they are never garbage, and an older generation's
    collection would scan them all (~150,000 objects). Called after Django
    is set up by `clientbase serve` before it forks its workers (so each
    starts ready, sharing these pages with the others), and by
    clientbase.wsgi, for any other server (a forked worker finds the views
    imported and has little left to freeze).

    The young generation's threshold stays Python's: at a threshold of
    50,000 the collections came 150 ms long instead of 0.2 ms, and an API
    request now leaves no cyclic garbage to collect (the auth and messages
    middleware hold the request weakly; docs/scaling.md, "The garbage
    collector")."""
    get_resolver().url_patterns  # noqa: B018 (imports the views)
    gc.collect()
    gc.freeze()
