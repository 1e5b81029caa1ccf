"""A visitor group's criteria edited as rows — a criterion type, its value
and its points — instead of raw JSON. The model and the API keep the list
of {"type", "params", "points"}; the rules are the marketing domain's
(`judging.clean_criteria`), shown on the field.

A criterion with one parameter takes it as the row's value ("3" for visits
at least, "GOLD" for in customer group, "DE|FR" for countries); a time
window takes "09:00-17:30"; a criterion without parameters ignores it.
"""

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from unfold.widgets import INPUT_CLASSES, SELECT_CLASSES

from clientbase.core.errors import Invalid
from clientbase.marketing.criteria import REGISTRY
from clientbase.marketing.judging import clean_criteria

TYPE, VALUE, POINTS = "__type", "__value", "__points"


def type_choices() -> list[tuple[str, str]]:
    return [("", "—")] + sorted(((name, c.label) for name, c in REGISTRY.items()), key=lambda c: c[1])


def row_value(entry: dict) -> str:
    """A stored criterion's parameters as the row's value."""
    criterion = REGISTRY.get(entry.get("type", ""))
    params = entry.get("params") or {}
    if criterion is None or not criterion.fields:
        return ""
    values = ["|".join(v) if isinstance(v := params.get(name, ""), list) else str(v)
              for name in criterion.fields]
    return "-".join(values)


def params_of(type_name: str, value: str) -> dict:
    criterion = REGISTRY.get(type_name)
    if criterion is None or not criterion.fields:
        return {}
    names = list(criterion.fields)
    if len(names) == 1:
        return {names[0]: value}
    parts = [p.strip() for p in value.split("-", len(names) - 1)]
    return dict(zip(names, parts + [""] * (len(names) - len(parts))))


class CriteriaWidget(forms.Widget):
    template_name = "marketing/criteria_widget.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = value if isinstance(value, list) else []
        context["widget"].update(
            rows=[(r.get("type", ""), row_value(r), r.get("points", 1)) for r in rows if isinstance(r, dict)]
            + [("", "", 1)],
            choices=type_choices(), type_field=name + TYPE, value_field=name + VALUE,
            points_field=name + POINTS, input_class=" ".join(INPUT_CLASSES),
            select_class=" ".join(SELECT_CLASSES),
        )
        return context

    def value_from_datadict(self, data, files, name):
        if name + TYPE not in data:
            return data.get(name)
        types, values, points = (data.getlist(name + suffix) for suffix in (TYPE, VALUE, POINTS))
        size = len(types)
        values += [""] * (size - len(values))
        points += ["1"] * (size - len(points))
        return [(t, v, p) for t, v, p in zip(types, values, points)]

    def value_omitted_from_data(self, data, files, name):
        return name not in data and name + TYPE not in data


class CriteriaField(forms.Field):
    widget = CriteriaWidget

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "One row per criterion. The value: a number (visits at least), a key "
                                       "(customer group, organization, market, role), countries as DE|FR, a text "
                                       "(query, referrer, page), a time window as 09:00-17:30, an amount.")
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list:
        if value in (None, ""):
            return []
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValidationError("Enter the criteria as rows.", code="invalid") from None
            return value if isinstance(value, list) else [value]
        if isinstance(value, list) and all(isinstance(r, tuple) for r in value):
            criteria = []
            for type_name, text, points in value:
                if not type_name and not text.strip():
                    continue
                try:
                    points_number = int(points or 1)
                except ValueError:
                    raise ValidationError(f"Points are a whole number, not “{points}”.", code="invalid") from None
                criteria.append({"type": type_name, "params": params_of(type_name, text.strip()),
                                 "points": points_number})
            return criteria
        return value

    def clean(self, value: Any) -> list:
        criteria = self.to_python(value)
        try:
            return clean_criteria(criteria)
        except Invalid as exc:
            raise ValidationError([f"Row {int(e.field.split('.')[1]) + 1}: {e.message}"
                                   if e.field.count(".") >= 1 and e.field.split(".")[1].isdigit()
                                   else e.message for e in exc.errors] or [exc.detail], code="invalid") from exc

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return (initial or []) != self.clean(data)
        except ValidationError:
            return True
