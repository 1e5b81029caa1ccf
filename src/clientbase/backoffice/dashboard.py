"""The back office's start page: what the signed-in account can see."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from clientbase.customers.models import Contact, CustomerGroup, Organization


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """Adds `dashboard_cards`: one count per kind of object the account may
    view, counted through the same scopes as the lists they link to."""
    user = request.user
    cards = []
    for model, title in ((Contact, "Contacts"), (Organization, "Organizations"),
                         (CustomerGroup, "Customer groups")):
        opts = model._meta
        if not user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            continue
        cards.append({
            "title": title,
            "count": model.objects.visible_to(user).count(),
            "url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
            "key": opts.model_name,
        })
    context["dashboard_cards"] = cards
    return context
