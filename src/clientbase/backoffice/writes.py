"""How the catalog and pricing admins write: through the domain's services,
with the staff member and the version the page was rendered with, as the API
hands over request.user and its If-Match.

A change form carries the version in a hidden field (base.VersionedAdminMixin;
`VersionedInlineForm` for each row of an inline); a delete confirmation page
in its URL (`?version=N`), since Django's page has no place for one in its
form and posts back to where it was shown. When someone else saved the object
in between, the service refuses (stale_version) and the page shows why,
instead of overwriting their change.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin

from clientbase.backoffice.base import (
    VERSION_FIELD, BadInputMixin, VersionedAdminMixin, adopt_saved, expected_version, read_version,
)
from clientbase.backoffice.errors import DomainErrorsAsMessages

def form_changes(form: forms.ModelForm) -> dict[str, Any]:
    """The fields of the form's object that the user changed, cleaned: what
    a service's update applies to the row it locks."""
    names = {f.name for f in form.instance._meta.concrete_fields}
    return {name: form.cleaned_data[name] for name in form.changed_data if name in names}


class VersionedInlineForm(forms.ModelForm):
    """A row of an inline carries its own object's version (a page's own
    form gets it from VersionedAdminMixin)."""

    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.initial.setdefault(VERSION_FIELD, self.instance.version)


@dataclass(frozen=True)
class Writes:
    """A model's write services: create(obj, *, actor), update(obj, *,
    changes, actor, expected_version), delete(obj, *, actor, expected_version)."""

    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., Any]


class ServiceWritesMixin:
    """A ModelAdmin mixin: saves, deletes and bulk deletes call the model's
    `writes`, with the version the page showed; the delete page moves to a
    URL naming the version it shows."""

    writes: Writes

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        if change:
            saved = self.writes.update(obj, changes=form_changes(form), actor=request.user,
                                       expected_version=expected_version(form))
            adopt_saved(obj, saved)
        else:
            self.writes.create(obj, actor=request.user)

    def delete_model(self, request: HttpRequest, obj) -> None:
        self.writes.delete(obj, actor=request.user, expected_version=read_version(request))

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        # Django's bulk delete would be one DELETE past every rule.
        for obj in queryset:
            self.writes.delete(obj, actor=request.user)


class CatalogModelAdmin(BadInputMixin, ServiceWritesMixin, VersionedAdminMixin, DomainErrorsAsMessages,
                        SimpleHistoryAdmin, ModelAdmin):
    """A catalog or pricing ModelAdmin with its history (who changed what).

    The catalog is not scoped by organization: whoever holds a model's view
    permission sees all of it. Writes go through the domain's services
    (`writes`) with the staff member and the version the page showed; a
    refusal the form could not show (a stale version, a race) becomes a
    message, never a 500.
    """

    warn_unsaved_form = True
