"""The permission check every service makes on its actor, before anything else.

Doors do not decide who may write: they pass the acting account to the
service, which calls `require`. So the API, the back office, imports and the
CLI refuse the same caller with the same answer.
"""

from clientbase.core.errors import Forbidden


def require(actor, *perms: str) -> None:
    """Raise Forbidden (code "forbidden") unless `actor` holds every
    permission named ("app_label.codename").

    `actor` None is the system (the demo, migrations, data set up by tests)
    and may do anything; an anonymous visitor or an inactive account may do
    nothing.
    """
    if actor is None:
        return
    if not (actor.is_authenticated and actor.is_active and actor.has_perms(perms)):
        raise Forbidden(detail=f"You lack the permission {', '.join(perms)}.", code="forbidden")
