"""What an acting account may do, asked by the services: every write names the
permission it needs, whichever door it came through."""

from clientbase.core.errors import Forbidden


def require(actor, *perms: str) -> None:
    """403 unless `actor` holds every permission named ("app_label.codename").

    `actor` None is the system (the demo loader, migrations, set-up code): it
    may do anything. An anonymous or inactive account may do nothing.
    """
    if actor is None:
        return
    if not (getattr(actor, "is_authenticated", False) and actor.is_active and actor.has_perms(perms)):
        raise Forbidden(detail=f"You lack the permission {', '.join(perms)}.", code="forbidden")
