"""A variant's options (size, colour, …) edited as named fields: one row of
name and value per option, with "Add option" and "Remove" buttons, instead of
raw JSON. The model and the API keep the JSON object `{"size": "M"}`.

A post without the rows (a script, an older page) may still send the option
object as JSON text in the field itself; it is held to the same rules.
"""

import json
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from unfold.widgets import INPUT_CLASSES

from clientbase.catalog import services
from clientbase.core.errors import Invalid

NAME_MAX = 50
VALUE_MAX = 200
MAX_OPTIONS = 20
NAME_SUFFIX, VALUE_SUFFIX = "__name", "__value"


def _rows(value: Any) -> list[tuple[str, str]]:
    """Rows of (name, value) to show for a field value: a dict, rows, or JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return []
    if isinstance(value, dict):
        return [(str(k), "" if v is None else str(v)) for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [(str(row[0]), str(row[1])) for row in value
                if isinstance(row, (list, tuple)) and len(row) == 2]
    return []


class OptionsWidget(forms.Widget):
    template_name = "catalog/options_widget.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            rows=_rows(value) + [("", "")],  # a spare row, for a page without scripts
            name_field=name + NAME_SUFFIX, value_field=name + VALUE_SUFFIX,
            input_class=" ".join(INPUT_CLASSES), name_max=NAME_MAX, value_max=VALUE_MAX,
        )
        return context

    def value_from_datadict(self, data, files, name):
        if name + NAME_SUFFIX in data or name + VALUE_SUFFIX in data:
            names, values = data.getlist(name + NAME_SUFFIX), data.getlist(name + VALUE_SUFFIX)
            values += [""] * (len(names) - len(values))
            names += [""] * (len(values) - len(names))
            return list(zip(names, values))
        return data.get(name)  # JSON text, or nothing

    def value_omitted_from_data(self, data, files, name):
        return not any(key in data for key in (name, name + NAME_SUFFIX, name + VALUE_SUFFIX))


class OptionsField(forms.Field):
    """Options as named fields; cleans to the dict the service stores."""

    widget = OptionsWidget

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "One row per option, e.g. size M, colour red.")
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dict:
        if value in (None, ""):
            return {}
        if isinstance(value, dict):
            return value
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ValidationError("Enter the options as rows, or as a JSON object.",
                                      code="invalid") from None
        return self._from_rows(value)

    def _from_rows(self, rows) -> dict:
        options, errors, seen = {}, [], set()
        for name, value in rows:
            name, value = name.strip(), value.strip()
            if not name and not value:
                continue  # an empty row: nothing typed
            if not name:
                errors.append(f"The value “{value[:VALUE_MAX]}” needs an option name.")
            elif not value:
                errors.append(f"Option “{name[:NAME_MAX]}” needs a value.")
            elif len(name) > NAME_MAX:
                errors.append(f"An option name has at most {NAME_MAX} characters.")
            elif len(value) > VALUE_MAX:
                errors.append(f"The value of “{name}” has at most {VALUE_MAX} characters.")
            elif name.casefold() in seen:
                errors.append(f"Option “{name}” appears twice.")
            else:
                seen.add(name.casefold())
                options[name] = value
        if len(options) > MAX_OPTIONS:
            errors.append(f"A variant has at most {MAX_OPTIONS} options.")
        if errors:
            raise ValidationError(errors, code="invalid")
        return options

    def validate(self, value: dict) -> None:
        super().validate(value)
        try:  # the service's rule, shown on the field
            services.validate_options(value)
        except Invalid as exc:
            raise ValidationError(exc.detail, code=exc.code) from exc

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            cleaned = self.to_python(data)
        except ValidationError:
            return True
        return _rows(initial or {}) != _rows(cleaned)

    def prepare_value(self, value: Any) -> Any:
        # A stored object as its JSON text (what a post without rows sends
        # back); the widget shows it as rows.
        return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
