"""Judging visitor groups: which of them a visitor matches, and why.

Groups are compiled once (their criteria typed) and kept in Django's cache
under a generation number that every marketing write bumps, so a request
reads no definitions from the database while nothing changed. A criterion
that fails (a bug in a developer's class, a group saved before a criterion
type was removed) is logged and counts as not matched: one broken
criterion never blocks a page.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from clientbase.core import caching
from clientbase.core.errors import FieldError, Invalid
from clientbase.marketing.criteria import REGISTRY, Criterion
from clientbase.marketing.models import Match, VisitorGroup
from clientbase.marketing.visitors import Visitor

log = logging.getLogger("clientbase.marketing")

MAX_CRITERIA = 50
MAX_POINTS = 1000


# --- Cleaning what is saved -------------------------------------------------


def clean_criteria(raw: Any) -> list[dict[str, Any]]:
    """The criteria as stored: a list of {"type", "params", "points"} whose
    params the criterion type accepts, in JSON form. Invalid names each bad
    entry by its index (criteria.2.params.count)."""
    if not isinstance(raw, list):
        raise Invalid.on("criteria", "Criteria are a list of {type, params, points}.")
    if len(raw) > MAX_CRITERIA:
        raise Invalid.on("criteria", f"At most {MAX_CRITERIA} criteria.")
    errors: list[FieldError] = []
    cleaned = []
    for index, entry in enumerate(raw):
        where = f"criteria.{index}"
        if not isinstance(entry, dict) or set(entry) - {"type", "params", "points"}:
            errors.append(FieldError(where, "A criterion is {type, params, points}."))
            continue
        type_name = entry.get("type")
        if type_name not in REGISTRY:
            errors.append(FieldError(f"{where}.type", f"Unknown criterion type {type_name!r}; "
                                                      f"known: {', '.join(sorted(REGISTRY))}."))
            continue
        points = entry.get("points", 1)
        if isinstance(points, bool) or not isinstance(points, int) or not 0 <= points <= MAX_POINTS:
            errors.append(FieldError(f"{where}.points", f"Points are a whole number from 0 to {MAX_POINTS}."))
            continue
        try:
            params = REGISTRY[type_name].clean(entry.get("params") or {}, f"{where}.params")
        except Invalid as exc:
            errors.extend(exc.errors or [FieldError(f"{where}.params", exc.detail)])
            continue
        cleaned.append({"type": type_name, "params": _json(params), "points": points})
    if errors:
        raise Invalid(detail="; ".join(f"{e.field}: {e.message}" for e in errors),
                      code="validation", errors=errors)
    return cleaned


def _json(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in params.items():
        if hasattr(value, "isoformat"):
            out[name] = value.isoformat(timespec="minutes")
        elif isinstance(value, (int, str, list)):
            out[name] = value
        else:
            out[name] = str(value)  # Decimal
    return out


def check_match(match: str, threshold: int | None, criteria: list[dict[str, Any]]) -> None:
    if match not in Match.values:
        raise Invalid.on("match", f"Match is one of {', '.join(Match.values)}.")
    if match == Match.POINTS:
        if threshold is None or threshold < 1:
            raise Invalid.on("threshold", "A points group needs a threshold of at least 1.")
        if threshold > sum(c["points"] for c in criteria):
            raise Invalid.on("threshold", "The threshold is more than all the criteria's points together: "
                                          "nobody could match.")
    elif threshold is not None:
        raise Invalid.on("threshold", "A threshold only applies to match 'points'.")


# --- Compiling and judging -------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A compiled criterion: its type's name (the class is looked up when
    judged, so a compiled group holds plain data that any cache can keep),
    its typed parameters, and whether they were valid when compiled."""

    type: str
    params: dict[str, Any]
    points: int
    valid: bool = True

    @property
    def criterion(self) -> Criterion | None:
        """None: a type no longer registered, or parameters it refuses."""
        return REGISTRY.get(self.type) if self.valid else None


@dataclass(frozen=True)
class CompiledGroup:
    id: Any
    key: str
    name: str
    match: str
    threshold: int | None
    rules: tuple[Rule, ...]


@dataclass
class Outcome:
    """How one criterion judged the visitor: matched True/False, or None
    when it failed (and counted as not matched). Described only when asked
    (a preview): judging runs on every storefront request."""

    rule: Rule
    matched: bool | None
    points: int

    @property
    def description(self) -> str:
        criterion = self.rule.criterion
        if criterion is None:
            return f"{self.rule.type} (broken)"
        text = criterion.describe(self.rule.params)
        return f"{text} (failed)" if self.matched is None else text


@dataclass
class Judgement:
    group: CompiledGroup
    matched: bool
    points: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def reason(self) -> str:
        met = [o.description for o in self.outcomes if o.matched]
        if self.group.match == Match.POINTS:
            return f"{self.points} of {self.group.threshold} points: " + (", ".join(met) or "nothing met")
        if self.group.match == Match.ANY:
            return "any of: " + (", ".join(met) or "nothing met")
        unmet = [o.description for o in self.outcomes if not o.matched]
        return ("all of: " + ", ".join(met)) if not unmet else ("not met: " + ", ".join(unmet))


def compile_group(group: VisitorGroup) -> CompiledGroup:
    rules = []
    for entry in group.criteria or []:
        type_name = entry.get("type", "") if isinstance(entry, dict) else ""
        known = REGISTRY.get(type_name)
        params: dict[str, Any] = {}
        if known is not None:
            try:
                params = known.clean(entry.get("params") or {})
            except Invalid:
                known = None  # judged as failing, and logged when judged
        rules.append(Rule(type_name, params, int(entry.get("points", 1)) if known else 0, known is not None))
    return CompiledGroup(group.pk, group.key, group.name, group.match, group.threshold, tuple(rules))


def judge(group: CompiledGroup, visitor: Visitor) -> Judgement:
    outcomes = []
    for rule in group.rules:
        criterion = rule.criterion
        if criterion is None:
            log.warning("visitor group %s: criterion %r cannot be judged (unknown type or bad "
                        "parameters); it counts as not matched", group.key, rule.type)
            outcomes.append(Outcome(rule, None, 0))
            continue
        try:
            matched = bool(criterion.matches(visitor, rule.params))
        except Exception:  # noqa: BLE001 - one broken criterion must not break a page
            log.exception("visitor group %s: criterion %s failed; it counts as not matched",
                          group.key, rule.type)
            outcomes.append(Outcome(rule, None, 0))
            continue
        outcomes.append(Outcome(rule, matched, rule.points if matched else 0))
    points = sum(o.points for o in outcomes)
    if not outcomes:
        matched = False
    elif group.match == Match.ANY:
        matched = any(o.matched for o in outcomes)
    elif group.match == Match.POINTS:
        matched = points >= (group.threshold or 1)
    else:
        matched = all(o.matched for o in outcomes)
    return Judgement(group, matched, points, outcomes)


def judge_all(groups: list[CompiledGroup], visitor: Visitor) -> list[Judgement]:
    return [judge(group, visitor) for group in groups]


def _holds(rule: Rule, visitor: Visitor, group_key: str) -> bool:
    criterion = REGISTRY.get(rule.type) if rule.valid else None
    if criterion is None:
        log.warning("visitor group %s: criterion %r cannot be judged (unknown type or bad "
                    "parameters); it counts as not matched", group_key, rule.type)
        return False
    try:
        return bool(criterion.matches(visitor, rule.params))
    except Exception:  # noqa: BLE001 - one broken criterion must not break a page
        log.exception("visitor group %s: criterion %s failed; it counts as not matched", group_key, rule.type)
        return False


def matches(group: CompiledGroup, visitor: Visitor) -> bool:
    """Whether the visitor is in the group — `judge`'s verdict, without its
    reasons, stopping at the first criterion that decides (every storefront
    request asks this of every group)."""
    rules = group.rules
    if not rules:
        return False
    if group.match == Match.ANY:
        return any(_holds(rule, visitor, group.key) for rule in rules)
    if group.match == Match.POINTS:
        needed, points = group.threshold or 1, 0
        for rule in rules:
            if rule.points and _holds(rule, visitor, group.key):
                points += rule.points
                if points >= needed:
                    return True
        return False
    return all(_holds(rule, visitor, group.key) for rule in rules)


# --- The cached definitions ----------------------------------------------------------

# The version (core.caching) that every marketing write moves on.
DEFINITIONS = "marketing"


def generation() -> int:
    """The definitions' current version (core.caching.versions)."""
    return caching.versions([DEFINITIONS])[0]


def cached(key: str, load):
    """The definitions under `key` for the current version: this process's
    copy, else the shared cache's, else `load()` (then cached). Without a
    shared cache (no CACHE_URL) a write in one process cannot reach another's
    copy: every process reads the definitions again after
    core.caching.UNSHARED_TTL seconds. With Redis a change shows at once."""
    return caching.held(key, [DEFINITIONS], load)


def changed() -> None:
    """Forget the cached definitions (every marketing write calls this)."""
    caching.bump_now(DEFINITIONS)


@dataclass(frozen=True)
class CompiledGroups:
    """Every visitor group, compiled, with what a door asks of them before
    judging anyone: which criterion types they use (the door gathers only
    the facts those need: a cart total, a shopper's memberships) and the
    organization keys their `in_organization` criteria name. Worked out
    once per generation, with the groups, not on every request."""

    groups: list[CompiledGroup]
    criteria_types: frozenset[str]
    organization_keys: frozenset[str]

    @classmethod
    def of(cls, groups: list[CompiledGroup]) -> "CompiledGroups":
        rules = [rule for group in groups for rule in group.rules]
        return cls(groups=groups, criteria_types=frozenset(rule.type for rule in rules),
                   organization_keys=frozenset(rule.params["organization"] for rule in rules
                                               if rule.type == "in_organization" and "organization" in rule.params))


def compiled_groups() -> CompiledGroups:
    """Every visitor group, compiled: from the cache, or one query."""
    # A key of its own: a shared cache may still hold the plain lists an
    # older release kept under "marketing:groups" for this generation.
    return cached("marketing:compiled-groups",
                  lambda: CompiledGroups.of([compile_group(g) for g in VisitorGroup.objects.order_by("key")]))
