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
from django.contrib.admin.utils import unquote
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin

from clientbase.backoffice.base import VERSION_FIELD, VersionedAdminMixin, adopt_saved, expected_version
from clientbase.backoffice.errors import DomainErrorsAsMessages

VERSION_PARAM = "version"


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


def read_version(request: HttpRequest) -> int | None:
    """The version a delete confirmation page showed (its `?version=`);
    None without one, 0 (never current) for one that is not a number."""
    value = request.GET.get(VERSION_PARAM)
    if value is None:
        return None
    return int(value) if value.isascii() and value.isdigit() else 0


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

    def with_version(self, request: HttpRequest, obj) -> HttpResponse | None:
        """A redirect to this page with `obj`'s version in the URL, when a GET
        lacks it; None otherwise."""
        if request.method != "GET" or VERSION_PARAM in request.GET:
            return None
        query = request.GET.copy()
        query[VERSION_PARAM] = str(obj.version)
        return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and (moved := self.with_version(request, obj)):
            return moved
        return super().delete_view(request, object_id, extra_context)


class CatalogModelAdmin(ServiceWritesMixin, VersionedAdminMixin, DomainErrorsAsMessages, SimpleHistoryAdmin,
                        ModelAdmin):
    """A catalog or pricing ModelAdmin with its history (who changed what).

    The catalog is not scoped by organization: whoever holds a model's view
    permission sees all of it. Writes go through the domain's services
    (`writes`) with the staff member and the version the page showed; a
    refusal the form could not show (a stale version, a race) becomes a
    message, never a 500.
    """

    warn_unsaved_form = True
