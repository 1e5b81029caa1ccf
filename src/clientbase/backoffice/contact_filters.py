"""The contact list's filters, columns and paginator: by organization (with
its subtree), by customer group (direct or effective), source, account and
creation date, on a list that may hold a million contacts.

The rules are the customers domain's (`Contact.objects.in_organization`,
`effectively_in`); the API's filters call the same. A filter only offers what
the staff member may see, and names an organization by an autocomplete over
the visible ones rather than a list of all of them.
"""

import json
from datetime import date, datetime, time, timedelta, timezone as dt_timezone

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html_join
from unfold.contrib.filters.admin import ChoicesDropdownFilter, DropdownFilter, RangeDateFilter
from unfold.contrib.filters.forms import AutocompleteDropdownForm
from unfold.utils import parse_date_str
from unfold.widgets import UnfoldAdminSelectWidget

from clientbase.backoffice.base import _pk_or_none, without_nul
from clientbase.customers.models import Account, Contact, CustomerGroup, Organization

# URL name (under the admin site) of the organization search behind the filter.
ORGANIZATION_CHOICES_URL = "customers_contact_organization_choices"
ORGANIZATION_PARAM = "organization"
SUBTREE_PARAM = "subtree"
AUTOCOMPLETE_PAGE = 20
# Above this many rows by the planner's estimate, the list shows the estimate
# rather than counting (PostgreSQL); below it, an exact COUNT is cheap.
ESTIMATE_ABOVE = 10_000


# --- organization: an autocomplete over the visible ones, with or without the subtree

def visible_organizations(request: HttpRequest) -> QuerySet:
    return Organization.objects.visible_to(request.user)


def organization_choices_view(request: HttpRequest) -> JsonResponse:
    """select2's answer for the organization filter: the visible
    organizations whose name begins with the term (or whose key it is), a
    page at a time, in name order."""
    if not request.user.has_perm("customers.view_contact"):
        raise PermissionDenied
    term = without_nul(request.GET.get("term", "")).strip()
    page = request.GET.get("page", "1")
    page = int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 10_000 else 1
    organizations = visible_organizations(request)
    if term:
        organizations = organizations.filter(Q(search_name__prefix=term.casefold()) | Q(key=term))
    start = (page - 1) * AUTOCOMPLETE_PAGE
    found = list(organizations.order_by("search_name", "id").only("name", "key")[start:start + AUTOCOMPLETE_PAGE + 1])
    return JsonResponse({
        "results": [{"id": str(o.pk), "text": _organization_label(o)} for o in found[:AUTOCOMPLETE_PAGE]],
        "pagination": {"more": len(found) > AUTOCOMPLETE_PAGE},
    })


def _organization_label(organization: Organization) -> str:
    return f"{organization.name} ({organization.key})" if organization.key else organization.name


class VisibleOrganizationSelect(AutocompleteSelect):
    """Django's autocomplete widget, asking the organization filter's own
    view (visible organizations) instead of the admin's autocomplete, which
    offers the organizations a form may put a contact in (managed ones)."""

    def get_url(self):
        return reverse(f"{self.admin_site.name}:{ORGANIZATION_CHOICES_URL}")


class OrganizationFilterForm(AutocompleteDropdownForm):
    """The organization (an autocomplete) and whether units below it count."""

    def __init__(self, request: HttpRequest, model_admin, data: dict) -> None:
        forms.Form.__init__(self, data=data)
        organization = forms.ModelChoiceField(
            label="By organization", required=False,
            # The selected one is shown by name only if the viewer sees it.
            queryset=visible_organizations(request),
            widget=VisibleOrganizationSelect(Contact._meta.get_field("organizations"), model_admin.admin_site,
                                             attrs={"class": "unfold-filter-autocomplete"}),
        )
        organization.label_from_instance = _organization_label
        self.fields[ORGANIZATION_PARAM] = organization
        self.fields[SUBTREE_PARAM] = forms.ChoiceField(
            label="Members", required=False, widget=UnfoldAdminSelectWidget,
            choices=[("", "Of this organization"), ("1", "Of it and the units below it")],
        )


class OrganizationFilter(admin.SimpleListFilter):
    """Members of an organization the staff member sees, or of its whole
    subtree (`?organization=<id>&subtree=1`). An organization it cannot see
    lists nothing, exactly as an id naming no organization does."""

    title = "organization"
    parameter_name = ORGANIZATION_PARAM
    template = "unfold/filters/filters_field.html"
    form_class = OrganizationFilterForm

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.request, self.model_admin = request, model_admin
        if SUBTREE_PARAM in params:
            value = params.pop(SUBTREE_PARAM)
            self.used_parameters[SUBTREE_PARAM] = value[-1] if isinstance(value, list) else value

    def has_output(self) -> bool:
        return True

    def lookups(self, request, model_admin):
        return ()

    def expected_parameters(self):
        return [self.parameter_name, SUBTREE_PARAM]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        pk = _pk_or_none(Organization, value)
        organization = visible_organizations(request).filter(pk=pk).first() if pk else None
        if organization is None:
            return queryset.none()
        return queryset.in_organization(organization, subtree=self.used_parameters.get(SUBTREE_PARAM) == "1")

    def choices(self, changelist):
        # A value that cannot be an id shows as no choice (the widget would look it up).
        value = self.value() if _pk_or_none(Organization, self.value()) else None
        yield {"form": self.form_class(self.request, self.model_admin, data={
            ORGANIZATION_PARAM: value, SUBTREE_PARAM: self.used_parameters.get(SUBTREE_PARAM)})}


# --- customer groups: a shop has tens of them, so a list (of the visible ones)

class _GroupFilter(DropdownFilter):
    """A customer group by key, among those the staff member sees; a key
    naming none of them lists nothing."""

    def lookups(self, request, model_admin):
        groups = CustomerGroup.objects.visible_to(request.user).order_by("path").only("key", "name", "depth")
        return [(g.key, f"{'— ' * g.depth}{g.name} ({g.key})") for g in groups]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        group = CustomerGroup.objects.visible_to(request.user).filter(key=self.value()).first()
        return self.members(queryset, group) if group else queryset.none()

    def members(self, queryset: QuerySet, group: CustomerGroup) -> QuerySet:
        raise NotImplementedError


class DirectGroupFilter(_GroupFilter):
    """Contacts assigned to the group themselves."""

    title = "customer group (direct)"
    parameter_name = "customer_group"

    def members(self, queryset, group):
        return queryset.filter(customer_groups=group)


class EffectiveGroupFilter(_GroupFilter):
    """Contacts effectively in the group: directly, through an organization
    or one of its ancestors, or through a child group (as the contact page's
    effective groups and the API's `effective_group`)."""

    title = "customer group (effective)"
    parameter_name = "effective_group"

    def members(self, queryset, group):
        return queryset.effectively_in(group)


class HasAccountFilter(DropdownFilter):
    title = "account"
    parameter_name = "has_account"

    def lookups(self, request, model_admin):
        return [("yes", "Has an account"), ("no", "Has no account")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(account__isnull=self.value() == "no")
        return queryset


class CreatedFilter(RangeDateFilter):
    """Created on or after the first day and on or before the last, each
    day whole in the shop's time zone."""

    title = "created"

    def queryset(self, request, queryset):
        first = parse_date_str(self.used_parameters.get(f"{self.parameter_name}_from"))
        last = parse_date_str(self.used_parameters.get(f"{self.parameter_name}_to"))
        # A bound with no moment (before year 1 or after 9999) bounds nothing.
        if first is not None and (start := _day_start(first)) is not None:
            queryset = queryset.filter(created_at__gte=start)
        if last is not None and last < date.max and (end := _day_start(last + timedelta(days=1))) is not None:
            queryset = queryset.filter(created_at__lt=end)
        return queryset


def _day_start(day: date) -> datetime | None:
    """The first moment of `day` in the shop's time zone, in UTC (what the
    database compares); None at the calendar's edges, where it has none."""
    try:
        return timezone.make_aware(datetime.combine(day, time.min)).astimezone(dt_timezone.utc)
    except OverflowError:
        return None


LIST_FILTERS = [OrganizationFilter, EffectiveGroupFilter, DirectGroupFilter, ("source", ChoicesDropdownFilter),
                HasAccountFilter, ("created_at", CreatedFilter)]


# --- columns ----------------------------------------------------------------------

def prefetch_columns(request: HttpRequest, contacts: list[Contact]) -> None:
    """Load what the list's columns show for a page of contacts, three
    queries whatever its size: the organizations the viewer sees them in,
    their own groups, their account's id."""
    prefetch_related_objects(
        contacts,
        Prefetch("organizations", queryset=visible_organizations(request).only("name", "path").order_by("path")),
        Prefetch("customer_groups", queryset=CustomerGroup.objects.only("key", "path")),
        Prefetch("account", queryset=Account.objects.only("id", "contact_id")),
    )


class ContactColumns:
    """A ModelAdmin mixin: the contact list's columns beyond the contact's
    own fields (read from `prefetch_columns`)."""

    @admin.display(description="Organizations")
    def organizations_column(self, obj: Contact) -> str:
        return format_html_join(", ", "{}", ((o.name,) for o in obj.organizations.all())) or "—"

    @admin.display(description="Groups")
    def customer_groups_column(self, obj: Contact) -> str:
        return ", ".join(g.key for g in obj.customer_groups.all()) or "—"

    @admin.display(description="Account", boolean=True)
    def has_account_column(self, obj: Contact) -> bool:
        return getattr(obj, "account", None) is not None

    @admin.display(description="Created", ordering="created_at")
    def created_column(self, obj: Contact):
        return obj.created_at


# --- counting ---------------------------------------------------------------------

class EstimatingPaginator(Paginator):
    """A paginator that does not count a million rows on every page load:
    on PostgreSQL, when the planner expects more than ESTIMATE_ABOVE rows,
    the list's size is the planner's estimate (the unfiltered list's is
    pg_class's row count); a smaller list is counted exactly. Elsewhere
    (SQLite, a development database) it always counts."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql":
            estimate = planner_estimate(queryset)
            if estimate > ESTIMATE_ABOVE:
                return estimate
        return queryset.count()


def planner_estimate(queryset: QuerySet) -> int:
    """How many rows PostgreSQL's planner expects `queryset` to return
    (EXPLAIN, which runs nothing)."""
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (.none())
        return 0
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # a driver that does not decode json
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
