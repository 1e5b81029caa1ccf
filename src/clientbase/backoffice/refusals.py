"""Every refusal says why on the page: a list that a search or a filter left
empty says so, and — for a scoped list — that what it does not show may
exist outside what the staff member sees, without telling whether it does
("not found, or not visible to you")."""

from django.contrib import messages
from django.contrib.admin.views.main import IGNORED_PARAMS
from django.db.models import Model
from django.http import HttpRequest, HttpResponse


def is_scoped(user, model: type[Model]) -> bool:
    """Whether `user` sees only part of `model`'s rows (its `visible_to`
    filters them)."""
    visible_to = getattr(model._default_manager, "visible_to", None)
    return visible_to is not None and visible_to(user).query.has_filters()


def explain_empty_list(request: HttpRequest, response: HttpResponse, model_admin) -> None:
    """A message on a changelist that a search or filter left empty."""
    context = getattr(response, "context_data", None) or {}
    changelist = context.get("cl")
    if changelist is None or changelist.result_count:
        return
    filtered = any(name not in IGNORED_PARAMS for name in changelist.filter_params)
    if not (changelist.query or filtered):
        return
    plural = model_admin.opts.verbose_name_plural
    if is_scoped(request.user, model_admin.model):
        text = (f"No {plural} you can see match this search or filter: one that is not listed "
                "is not found, or not visible to you.")
    else:
        text = f"No {plural} match this search or filter."
    messages.info(request, text)
