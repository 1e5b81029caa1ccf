"""Who a visitor is to marketing: the visitor groups it matches (and why),
the content each slot shows it, and the segments it belongs to.

The door builds the `Visitor` (marketing.visitors) and asks here; what is
asked once per request is judged once (an `Audience` holds the answers).
"""

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property

from django.core.cache import cache
from django.utils import timezone

from clientbase.core import caching
from clientbase.customers.services.memberships import memberships
from clientbase.marketing import judging, visits as visit_cookie
from clientbase.marketing.judging import CompiledGroup, Judgement
from clientbase.marketing.models import ContentSlot
from clientbase.marketing.visitors import Visitor

MEMBERSHIP_CRITERIA = {"has_role", "in_customer_group", "in_organization"}
# Who may preview the storefront as a visitor group or a contact.
PREVIEW_PERMISSION = "marketing.view_visitorgroup"


def may_preview(account) -> bool:
    return bool(account and account.is_authenticated and account.is_active
                and account.has_perm(PREVIEW_PERMISSION))



@dataclass(frozen=True)
class Slot:
    key: str
    default_html: str
    variants: tuple[tuple[str, str], ...]  # (visitor group key, html), first match wins


def compiled_slots() -> dict[str, Slot]:
    """Every content slot with its variants: from the cache, or two queries."""
    return judging.cached("marketing:slots", lambda: {
        s.key: Slot(s.key, s.default_html, tuple((v.visitor_group.key, v.html) for v in s.variants.all()))
        for s in ContentSlot.objects.prefetch_related("variants__visitor_group")})


@dataclass
class Audience:
    visitor: Visitor
    groups: list[CompiledGroup]
    forced: frozenset[str] = field(default_factory=frozenset)  # a staff preview's chosen groups

    @cached_property
    def judgements(self) -> list[Judgement]:
        return judging.judge_all(self.groups, self.visitor)

    @cached_property
    def matched(self) -> frozenset[str]:
        """Keys of the visitor groups matched. A staff preview as a visitor
        group (`forced`) matches that group only: the page shows what its
        members see, whatever the staff member's own visit would match."""
        if self.forced:
            return self.forced
        return frozenset(group.key for group in self.groups if judging.matches(group, self.visitor))

    def slot_html(self, key: str) -> str | None:
        """The slot's HTML for this visitor (sanitized when saved); None when
        the shop has no such slot."""
        slot = compiled_slots().get(key)
        if slot is None:
            return None
        for group_key, html in slot.variants:
            if group_key in self.matched:
                return html
        return slot.default_html


# Without a shared cache, how long a shopper's memberships are reused for its
# visitor groups in one process (its prices and promotions always read them
# live): the "visitor's context" the rule of at most one query per request
# asks to cache.
FACTS_TTL = 60


def shopper_memberships(contact, account, keys: frozenset[str]):
    """The shopper's memberships for judging. With a shared cache, from
    `memberships`' versioned entry (exact: every change shows at once).
    Otherwise from this process's cache for FACTS_TTL seconds (keyed by the
    contact's version, which every change of its own groups or
    organizations moves on), else one query."""
    if caching.shared():
        return memberships(contact, account, keys)
    key = "marketing:facts:{}:{}:{}:{}".format(
        account.pk, contact.pk if contact else "-", contact.version if contact else 0,
        zlib.crc32(",".join(sorted(keys)).encode()))
    facts = cache.get(key)
    if facts is None:
        facts = memberships(contact, account, keys)
        cache.set(key, facts, timeout=FACTS_TTL)
    return facts


@dataclass(frozen=True)
class Request:
    """What a door knows of the request, in plain values: the visit
    cookie's value, the path, query string, Referer and Accept-Language."""

    cookie: str | None = None
    path: str = "/"
    query: str = ""
    referrer: str = ""
    accept_language: str = ""

    @classmethod
    def of(cls, cookies, meta, path: str) -> "Request":
        """From a WSGI request's cookies and environ (request.COOKIES, request.META)."""
        return cls(cookie=cookies.get(visit_cookie.VISITOR_COOKIE), path=path,
                   query=meta.get("QUERY_STRING", ""), referrer=meta.get("HTTP_REFERER", ""),
                   accept_language=meta.get("HTTP_ACCEPT_LANGUAGE", ""))


def country_of(accept_language: str) -> str | None:
    """The region of the browser's first language (de-DE → DE), if any."""
    first = accept_language.split(",")[0].split(";")[0].strip()
    parts = first.replace("_", "-").split("-")
    if len(parts) >= 2 and len(parts[1]) == 2 and parts[1].isalpha():
        return parts[1].upper()
    return None


def build_audience(request: Request, *, account=None, contact=None, forced: frozenset[str] = frozenset(),
                   market_key: Callable[[], str | None] = lambda: None,
                   cart_total: Callable[[], Decimal] = lambda: Decimal(0)) -> tuple[Audience, visit_cookie.Visits]:
    """The audience of one request, and the visits as of it (for the door
    to write the cookie back). `account`/`contact`: the logged-in shopper
    (or the contact a staff preview chose); their memberships are read in
    ONE query, and only when some visitor group asks about them. The market
    and the cart total are asked for only when some group uses them."""
    compiled = judging.compiled_groups()
    visits = visit_cookie.read(request.cookie)
    types = compiled.criteria_types
    visitor = Visitor(
        now=timezone.localtime(), visits=visits.visits, path=request.path[:2000], query=request.query[:2000],
        referrer=request.referrer[:2000], pages=visits.pages, country=country_of(request.accept_language),
        logged_in=account is not None, market=market_key() if "market" in types else None,
    )
    if account is not None and types & MEMBERSHIP_CRITERIA:
        facts = shopper_memberships(contact, account, compiled.organization_keys)
        visitor = replace(visitor, roles=facts.roles, group_keys=facts.group_keys,
                          organization_paths=facts.organization_paths,
                          extra={"organization_paths_by_key": facts.paths_by_key})
    if "cart_total_at_least" in types:
        visitor = replace(visitor, cart_total=cart_total())
    return Audience(visitor, compiled.groups, forced), visits
