"""What every customers ModelAdmin shares: scoped querysets, real 404s,
read-only objects outside the caller's manage scope, domain errors as
messages, and history through simple_history.

Visibility is never decided here: `scoped_queryset` (and its `manage` twin)
are the only place a ModelAdmin asks who sees what, and they call the
model's `visible_to` (see clientbase.customers.models.visibility).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.db import models
from django.contrib.admin import helpers
from django.contrib.admin.options import TO_FIELD_VAR
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import BadRequest, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper
from unfold.admin import ModelAdmin

from clientbase.backoffice.errors import DomainErrorsAsMessages
from clientbase.backoffice.refusals import explain_empty_list


class BadInputMixin:
    """A ModelAdmin mixin: input that names nothing is never a 500.

    - An object page (change, delete, history, a history version, an object
      action) whose id names nothing the caller may see is a 404 page,
      whatever is wrong with the id. Django redirects to the index with
      "… doesn't exist", which tells more than a 404 (a scoped admin's
      objects outside the scope must look exactly like nonexistent ones), and
      simple_history's pages hand a malformed id (`not-a-uuid`, a version
      `abc`) to the database, which raises.
    - A list whose query string holds a NUL character is a 400 page:
      PostgreSQL refuses NUL in text, so a filter (`?source=%00`) would reach
      the database as an error. (The autocomplete answers no match; see
      `autocomplete_view`.)
    - A bulk action's selection keeps only the ids that can be ids.

    Every admin of the back office has it; tests/hardening/test_admin_ids.py
    fails for one that does not.
    """

    def changelist_view(self, request: HttpRequest, extra_context=None):
        if has_nul(request.GET):
            raise BadRequest("A NUL character in the query string.")
        response = super().changelist_view(request, extra_context)
        explain_empty_list(request, response, self)  # an empty result says why
        return response

    def response_action(self, request: HttpRequest, queryset):
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        usable = [pk for pk in selected if "\x00" not in pk and _pk_or_none(self.model, pk) is not None]
        if usable != selected:
            request.POST = request.POST.copy()
            request.POST.setlist(helpers.ACTION_CHECKBOX_NAME, usable)
        return super().response_action(request, queryset)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None):
        """The object if the caller may see it; otherwise a 404, exactly as if it
        did not exist."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} matches the given query.")
        # The page's read-only displays get only the object: remember for
        # whom it is shown, so that they name only what the viewer sees.
        obj.shown_to = request.user
        return obj

    def _check_id(self, request: HttpRequest, object_id: str | None) -> None:
        # Before any of the page's own code reads the id (a filter(pk=...)
        # of a malformed UUID raises); a wrong-typed `_to_field` lookup is
        # left to get_object, which finds nothing.
        if object_id is not None and TO_FIELD_VAR not in request.GET and TO_FIELD_VAR not in request.POST:
            if _pk_or_none(self.model, unquote(object_id)) is None:
                raise Http404(f"No {self.opts.verbose_name} matches the given query.")

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        self._check_id(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        self._check_id(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None):
        self._check_id(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str,
                          extra_context=None):
        self._check_id(request, object_id)
        history = getattr(self.model, self.model._meta.simple_history_manager_attribute).model
        if _pk_or_none(history, version_id) is None:
            raise Http404("No such version.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class ScopedMixin(BadInputMixin):
    """Makes a ModelAdmin's every read start from the caller's scope.

    Subclasses implement `scoped_queryset` (what the caller may see) and
    `managed_queryset` (what it may change). Everything else — changelist,
    change page, history, autocomplete, raw-id popups, delete — reads through
    `get_queryset`, so nothing outside the scope is ever shown.
    """

    warn_unsaved_form = True

    # -- scope ---------------------------------------------------------------
    def scoped_queryset(self, request: HttpRequest) -> models.QuerySet:
        """The objects the caller may see."""
        raise NotImplementedError

    def managed_queryset(self, request: HttpRequest) -> models.QuerySet:
        """The objects the caller may change; by default all it may see."""
        return self.scoped_queryset(request)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        qs = self.scoped_queryset(request)
        ordering = self.get_ordering(request)
        if ordering:
            qs = qs.order_by(*ordering)
        return qs

    def choice_queryset(self, request: HttpRequest, model: type[models.Model]) -> models.QuerySet | None:
        """The objects of `model` that a form field may offer, or None for no
        restriction (see `clientbase.backoffice.scopes`)."""
        from clientbase.backoffice.scopes import choices_for

        return choices_for(request, model)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            qs = self.choice_queryset(request, db_field.remote_field.model)
            if qs is not None:
                kwargs["queryset"] = qs
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            qs = self.choice_queryset(request, db_field.remote_field.model)
            if qs is not None:
                kwargs["queryset"] = qs
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # -- object-level permissions ----------------------------------------------
    # (objects outside the scope do not exist: BadInputMixin's 404)
    def _manages(self, request: HttpRequest, obj: models.Model) -> bool:
        cache = request.__dict__.setdefault("_managed_objects", {})
        key = (self.model, obj.pk)
        if key not in cache:
            cache[key] = self.managed_queryset(request).filter(pk=obj.pk).exists()
        return cache[key]

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Seen at view level but not managed: the change page is read-only.
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or obj._state.adding or self._manages(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or self._manages(request, obj)

    def get_deleted_objects(self, objs, request):
        # Django lists what blocks a delete by name; a child the caller cannot
        # see must not be named, so a tree node's blockers are only counted.
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected and hasattr(self.model, "children"):
            protected = [f"{len(protected)} child {self.opts.verbose_name}(s): move or delete "
                         "them first"]
        return deleted, model_count, perms_needed, protected


class EveryStaffMemberMixin:
    """A ModelAdmin mixin for objects every staff member keeps for itself
    (its API tokens, its imports): the page is open to all staff, and the
    scoped queryset and the services decide whose objects and which writes."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)


VERSION_FIELD = "expected_version"
VERSION_PARAM = "version"


def read_version(request: HttpRequest) -> int | None:
    """The version a delete confirmation page showed (its `?version=`);
    None without one, 0 (never current) for one that is not a number."""
    value = request.GET.get(VERSION_PARAM)
    if value is None:
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else 0


class VersionedAdminMixin:
    """The version a change page was rendered with rides along in a hidden
    field, and the save hands it to the service, which refuses (412) to save
    over a newer version, as the API does for a stale If-Match. The refusal
    comes back as a message (DomainErrorsAsMessages)."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        # The page's fieldsets name the hidden field; the model has no such
        # field. Django's change page passes its fields; simple_history's
        # version page does not, so take them from the fieldsets here.
        fields = kwargs.get("fields")
        if fields is None and "fields" not in kwargs:
            fields = flatten_fieldsets(self.get_fieldsets(request, obj))
        if fields is not None:
            kwargs["fields"] = [f for f in fields if f != VERSION_FIELD]
        form_class = super().get_form(request, obj, change=change, **kwargs)
        initial = obj.version if obj is not None and not obj._state.adding else None
        return type(form_class.__name__, (form_class,), {
            VERSION_FIELD: forms.IntegerField(widget=forms.HiddenInput, required=False,
                                              initial=initial),
        })

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        """A delete confirmation page names the version it shows in its URL
        (Django's page has no place for it in its form and posts back to
        where it was shown), so that the delete refuses a newer version."""
        if request.method == "GET" and VERSION_PARAM not in request.GET:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                return self.with_version(request, obj)
        return super().delete_view(request, object_id, extra_context)

    def with_version(self, request: HttpRequest, obj) -> HttpResponseRedirect | None:
        """A redirect to this page with `obj`'s version in the URL, when a GET
        lacks it; None otherwise."""
        if request.method != "GET" or VERSION_PARAM in request.GET:
            return None
        query = request.GET.copy()
        query[VERSION_PARAM] = str(obj.version)
        return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None or not fieldsets or not self.has_change_permission(request, obj):
            return fieldsets  # a read-only page has no form to carry it
        name, options = fieldsets[0]
        return [(name, {**options, "fields": [*options["fields"], VERSION_FIELD]}), *fieldsets[1:]]


def adopt_saved(obj: models.Model, saved: models.Model) -> None:
    """Make the admin's `obj` the row the service saved: the admin goes on
    with `obj` (its change message, history entry and redirect)."""
    for field in obj._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False


def expected_version(form) -> int | None:
    """The version the form was rendered with (None on an add page)."""
    return form.cleaned_data.get(VERSION_FIELD)


class ScopedHistoryHelper(HistoricalRecordContextHelper):
    """How a history page shows a change of a many-to-many field (a contact's
    organizations): by the names of what the viewer sees, and one mark for
    whatever it does not — never their names, nor how many there are."""

    HIDDEN = "(organizations you cannot see)"

    def __init__(self, model, historical_record, *, viewer):
        super().__init__(model, historical_record)
        self.viewer = viewer

    def prepare_delta_change_value(self, change, value):
        prepared = super().prepare_delta_change_value(change, value)
        field = self.model._meta.get_field(change.field)
        related = field.related_model
        if not isinstance(field, models.ManyToManyField) or not hasattr(related._default_manager, "visible_to"):
            return prepared
        seen = set(related._default_manager.visible_to(self.viewer).filter(
            pk__in=[obj.pk for obj in prepared]).values_list("pk", flat=True))
        shown = [obj for obj in prepared if obj.pk in seen]
        return shown + [self.HIDDEN] if len(shown) < len(prepared) else shown


class ScopedModelAdmin(ScopedMixin, VersionedAdminMixin, DomainErrorsAsMessages, SimpleHistoryAdmin,
                       ModelAdmin):
    """A scoped ModelAdmin with its history (who changed what, and when)."""

    def get_historical_record_context_helper(self, request: HttpRequest, historical_record):
        return ScopedHistoryHelper(self.model, historical_record, viewer=request.user)

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None):
        # simple_history falls back to the last historical record when the
        # object is not in get_queryset(); that would show the history of an
        # object the caller may not see. Only a truly deleted object may fall
        # back, and only for someone who sees everything.
        self._check_id(request, object_id)
        exists = self.model._default_manager.filter(pk=_pk_or_none(self.model, unquote(object_id))).exists()
        if exists or not getattr(request.user, "sees_everything", False):
            self.get_object(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str,
                          extra_context=None):
        # simple_history loads the historical record without the admin's queryset.
        self.get_object(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


def _pk_or_none(model: type[models.Model], value: Any):
    """`value` as `model`'s primary key; None when it cannot be one."""
    try:
        return model._meta.pk.to_python(value)
    except (ValidationError, ValueError, TypeError, OverflowError):  # a malformed id is simply not found
        return None


def has_nul(params: QueryDict) -> bool:
    """Whether a name or a value of `params` holds a NUL character."""
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in params.lists())


def autocomplete_view(site_view: Callable[[HttpRequest], HttpResponse]) -> Callable:
    """The admin site's autocomplete (the search behind every autocomplete
    field), answering a term with a NUL character as a term that matches
    nothing instead of handing it to the database."""

    @wraps(site_view)
    def view(request: HttpRequest) -> HttpResponse:
        if has_nul(request.GET):
            return JsonResponse({"results": [], "pagination": {"more": False}})
        return site_view(request)

    return view


def without_nul(text: str) -> str:
    """`text` without NUL characters, which PostgreSQL refuses in a text
    comparison (and which no key, SKU or name holds)."""
    return text.replace("\x00", "")
