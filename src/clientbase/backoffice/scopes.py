"""The back office's view of who sees what: thin wrappers over the models'
`visible_to` scopes, so that every ModelAdmin and every form field asks the
same question the same way."""

from django.db import models
from django.http import HttpRequest

from clientbase.customers.models import Account, Contact, CustomerGroup, GrantLevel, Organization


def choices_for(request: HttpRequest, model: type[models.Model]) -> models.QuerySet | None:
    """What a form field pointing at `model` may offer the caller, or None
    when the model is not scoped.

    Organizations and contacts: only those the caller manages, since linking
    something to them changes them. Accounts: those it sees.
    """
    user = request.user
    if model is Organization:
        return Organization.objects.visible_to(user, GrantLevel.MANAGE)
    if model is Contact:
        return Contact.objects.visible_to(user, GrantLevel.MANAGE)
    if model is Account:
        return Account.objects.visible_to(user)
    if model is CustomerGroup:
        return CustomerGroup.objects.visible_to(user)
    return None


def is_autocomplete(request: HttpRequest) -> bool:
    """Whether the request is the admin's autocomplete endpoint, which fills a
    form field (so it offers what the caller may pick, not all it may see)."""
    match = getattr(request, "resolver_match", None)
    return bool(match and match.url_name == "autocomplete")
