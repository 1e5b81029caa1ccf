"""What is known about a storefront visitor when visitor groups are judged.

A door (the storefront) builds a `Visitor` from the request, its cookies and
one query for a logged-in shopper's memberships; the criteria read it and
never query the database themselves.
"""

from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from functools import cached_property


@dataclass(frozen=True)
class Visitor:
    """One visitor on one request.

    visits: how many visits (sessions) this browser has made, this one
    included (1 on a first visit). pages: the paths visited before this
    request, most recent first (a bounded list). roles: the account's role
    names. group_keys: the contact's effective customer-group keys.
    organization_paths: the materialized paths of the contact's
    organizations (an organization's subtree holds every path that starts
    with its own).
    """

    now: datetime
    visits: int = 1
    path: str = "/"
    query: str = ""
    referrer: str = ""
    pages: tuple[str, ...] = ()
    logged_in: bool = False
    roles: frozenset[str] = frozenset()
    group_keys: frozenset[str] = frozenset()
    organization_paths: tuple[str, ...] = ()
    organization_keys: frozenset[str] = frozenset()
    market: str | None = None
    country: str | None = None
    cart_total: Decimal = Decimal(0)
    extra: dict = field(default_factory=dict)

    @property
    def first_visit(self) -> bool:
        return self.visits <= 1

    @cached_property
    def time_of_day(self) -> time:
        """The shop's local time of the request, without its zone."""
        return self.now.time().replace(tzinfo=None)
