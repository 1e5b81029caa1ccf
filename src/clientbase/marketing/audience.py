"""Who a visitor is to marketing: the visitor groups it matches (and why),
the content each slot shows it, and the segments it belongs to.

The door builds the `Visitor` (marketing.visitors) and asks here; what is
asked once per request is judged once (an `Audience` holds the answers).
"""

from dataclasses import dataclass, field
from functools import cached_property

from django.core.cache import cache

from clientbase.marketing import judging
from clientbase.marketing.judging import CompiledGroup, Judgement
from clientbase.marketing.models import ContentSlot
from clientbase.marketing.visitors import Visitor

SLOTS_KEY = "marketing:slots:{}"


@dataclass(frozen=True)
class Slot:
    key: str
    default_html: str
    variants: tuple[tuple[str, str], ...]  # (visitor group key, html), first match wins


def compiled_slots() -> dict[str, Slot]:
    """Every content slot with its variants: from the cache, or two queries."""
    key = SLOTS_KEY.format(judging.generation())
    slots = cache.get(key)
    if slots is None:
        slots = {s.key: Slot(s.key, s.default_html, tuple((v.visitor_group.key, v.html) for v in s.variants.all()))
                 for s in ContentSlot.objects.prefetch_related("variants__visitor_group")}
        cache.set(key, slots, timeout=300)
    return slots


def criteria_types(groups: list[CompiledGroup]) -> set[str]:
    """Which criterion types the shop's groups use: the door gathers only
    the facts they need (a cart total, a shopper's memberships)."""
    return {rule.type for group in groups for rule in group.rules}


def organization_keys(groups: list[CompiledGroup]) -> frozenset[str]:
    """The organization keys that `in_organization` criteria name."""
    return frozenset(rule.params["organization"] for group in groups for rule in group.rules
                     if rule.type == "in_organization" and "organization" in rule.params)


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
        return frozenset(j.group.key for j in self.judgements if j.matched)

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
