"""The criteria a visitor group combines: a registry that a developer
extends with one class.

    @register
    class SpentAtLeast(Criterion):
        type = "spent_at_least"
        label = "Has spent at least"
        fields = {"amount": Decimal}

        def matches(self, visitor, params):
            return visitor.extra.get("spent", 0) >= params["amount"]

`fields` names each parameter and its type (str, int, Decimal, time,
list of str); `clean` turns submitted parameters into those types or raises
Invalid naming the parameter, so that a saved group never holds a
criterion that cannot be judged.
"""

from datetime import time
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from clientbase.core.errors import FieldError, Invalid
from clientbase.marketing.visitors import Visitor

REGISTRY: dict[str, "Criterion"] = {}

# A parameter's longest text: criteria are matched on every request.
MAX_TEXT = 200


def register(cls: type["Criterion"]) -> type["Criterion"]:
    """Make `cls` a criterion type that visitor groups may use."""
    if not cls.type or cls.type in REGISTRY:
        raise ValueError(f"Criterion type {cls.type!r} is empty or registered twice.")
    REGISTRY[cls.type] = cls()
    return cls


def criterion(type_name: str) -> "Criterion":
    return REGISTRY[type_name]


class Criterion:
    type: ClassVar[str] = ""
    label: ClassVar[str] = ""
    fields: ClassVar[dict[str, Any]] = {}

    def clean(self, params: Any, where: str = "params") -> dict[str, Any]:
        """The parameters, typed; Invalid naming each bad one."""
        if not isinstance(params, dict):
            raise Invalid.on(where, "Parameters are an object of names to values.")
        unknown = sorted(set(params) - set(self.fields))
        errors = [FieldError(f"{where}.{name}", "Not a parameter of this criterion.") for name in unknown]
        cleaned: dict[str, Any] = {}
        for name, kind in self.fields.items():
            value = params.get(name)
            try:
                cleaned[name] = _typed(value, kind)
            except ValueError as exc:
                errors.append(FieldError(f"{where}.{name}", str(exc)))
        if errors:
            raise Invalid(detail="; ".join(f"{e.field}: {e.message}" for e in errors),
                          code="validation", errors=errors)
        return cleaned

    def matches(self, visitor: Visitor, params: dict[str, Any]) -> bool:  # pragma: no cover
        raise NotImplementedError

    def describe(self, params: dict[str, Any]) -> str:
        shown = ", ".join(f"{name} {_shown(value)}" for name, value in params.items())
        return f"{self.label} ({shown})" if shown else self.label


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


def _typed(value: Any, kind: Any) -> Any:
    if value is None or value == "":
        raise ValueError("Required.")
    if kind is str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("A text is required.")
        if len(value) > MAX_TEXT:
            raise ValueError(f"At most {MAX_TEXT} characters.")
        return value.strip()
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError("A whole number is required.")
        try:
            number = int(value)
        except ValueError:
            raise ValueError("A whole number is required.") from None
        if number < 0 or number > 1_000_000:
            raise ValueError("Between 0 and 1,000,000.")
        return number
    if kind is Decimal:
        if isinstance(value, bool):
            raise ValueError("An amount is required.")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("An amount is required, e.g. 50.00.") from None
        if not amount.is_finite() or amount < 0:
            raise ValueError("A positive amount is required.")
        return amount
    if kind is time:
        if isinstance(value, time):
            return value
        try:
            return time.fromisoformat(str(value))
        except ValueError:
            raise ValueError("A time of day is required, e.g. 09:30.") from None
    if kind == list[str]:
        items = value.split("|") if isinstance(value, str) else value
        if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
            raise ValueError("A list of texts is required.")
        if len(items) > 50 or any(len(i) > MAX_TEXT for i in items):
            raise ValueError(f"At most 50 items of {MAX_TEXT} characters.")
        return [i.strip() for i in items]
    raise TypeError(f"Unknown parameter type {kind!r}")  # a developer's mistake


# --- The built-in criteria (DESIGN.md "Personalization and marketing") --------


@register
class FirstVisit(Criterion):
    type = "first_visit"
    label = "First visit"

    def matches(self, visitor, params):
        return visitor.first_visit


@register
class Returning(Criterion):
    type = "returning"
    label = "Returning visitor"

    def matches(self, visitor, params):
        return not visitor.first_visit


@register
class VisitsAtLeast(Criterion):
    type = "visits_at_least"
    label = "Visits at least"
    fields = {"count": int}

    def matches(self, visitor, params):
        return visitor.visits >= params["count"]


@register
class LoggedIn(Criterion):
    type = "logged_in"
    label = "Logged in"

    def matches(self, visitor, params):
        return visitor.logged_in


@register
class HasRole(Criterion):
    type = "has_role"
    label = "Has role"
    fields = {"role": str}

    def matches(self, visitor, params):
        return params["role"] in visitor.roles


@register
class InCustomerGroup(Criterion):
    type = "in_customer_group"
    label = "In customer group"
    fields = {"group": str}

    def matches(self, visitor, params):
        return params["group"] in visitor.group_keys


@register
class InOrganization(Criterion):
    """The visitor's contact belongs to the organization or a unit below
    it. The parameter is the organization's key; `Visitor.extra` carries
    the organization paths by key (filled by the door for the keys that
    visitor groups name), since paths, not keys, say what is below what."""

    type = "in_organization"
    label = "In organization (or below)"
    fields = {"organization": str}

    def matches(self, visitor, params):
        prefix = visitor.extra.get("organization_paths_by_key", {}).get(params["organization"])
        return prefix is not None and any(path.startswith(prefix) for path in visitor.organization_paths)


@register
class InMarket(Criterion):
    type = "market"
    label = "Shops in market"
    fields = {"market": str}

    def matches(self, visitor, params):
        return visitor.market is not None and visitor.market.upper() == params["market"].upper()


@register
class InCountry(Criterion):
    type = "country"
    label = "From country"
    fields = {"countries": list[str]}

    def matches(self, visitor, params):
        return visitor.country is not None and visitor.country.upper() in {
            c.upper() for c in params["countries"]}


@register
class QueryContains(Criterion):
    type = "query_contains"
    label = "Query string contains"
    fields = {"text": str}

    def matches(self, visitor, params):
        return params["text"].lower() in visitor.query.lower()


@register
class ReferrerContains(Criterion):
    type = "referrer_contains"
    label = "Came from a page containing"
    fields = {"text": str}

    def matches(self, visitor, params):
        return params["text"].lower() in visitor.referrer.lower()


@register
class VisitedPage(Criterion):
    type = "visited_page"
    label = "Has visited a page starting with"
    fields = {"path": str}

    def matches(self, visitor, params):
        return any(page.startswith(params["path"]) for page in visitor.pages)


@register
class TimeWindow(Criterion):
    """Between two times of the day (shop time); a window may wrap past
    midnight (22:00–06:00). `start` is in the window, `end` is not."""

    type = "time_window"
    label = "Time of day between"
    fields = {"start": time, "end": time}

    def matches(self, visitor, params):
        now = visitor.time_of_day
        start, end = params["start"], params["end"]
        if start <= end:
            return start <= now < end
        return now >= start or now < end


@register
class CartTotalAtLeast(Criterion):
    type = "cart_total_at_least"
    label = "Cart total at least"
    fields = {"amount": Decimal}

    def matches(self, visitor, params):
        return visitor.cart_total >= params["amount"]
