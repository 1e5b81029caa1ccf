"""What the customer-group pages show beyond the group's own fields: its
place in the tree, its direct and effective member counts, its members a
page at a time (contacts and organizations), and the price rows that name
it — each only as far as the staff member may see.

and the segments that target it (marketing).
"""

from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from unfold.decorators import action
from unfold.views import ChangeList

from clientbase.backoffice.contact_filters import EstimatingPaginator
from clientbase.core.models import ids_in_path
from clientbase.customers.models import Contact, CustomerGroup, Organization
from clientbase.customers.services.group_members import GroupCounts, member_counts
from clientbase.pricing.models import PriceRow, SaleType

MEMBERS_PER_PAGE = 50
PRICE_ROWS_SHOWN = 10
CONTACT_LIST = "admin:customers_contact_changelist"


def _viewer(obj):
    # Without a known viewer, nobody: nothing is counted or named.
    return getattr(obj, "shown_to", AnonymousUser())


def _counts(obj: CustomerGroup) -> GroupCounts:
    """The group's counts: set by the list for its whole page at once, or
    asked for this group alone on its own page."""
    if not hasattr(obj, "member_counts"):
        obj.member_counts = member_counts([obj], viewer=_viewer(obj)).get(obj.pk, GroupCounts())
    return obj.member_counts


def contacts_url(param: str, group: CustomerGroup) -> str:
    """The contact list filtered to the group's direct (`customer_group`)
    or effective (`effective_group`) members: paginated, with the list's
    filters and bulk actions."""
    return f"{reverse(CONTACT_LIST)}?{urlencode({param: group.key})}"


class GroupChangeList(ChangeList):
    """The group list, whose counts come from three grouped queries for the
    whole page (customers.services.group_members), never one per group."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = list(self.result_list)
        counts = member_counts(self.result_list, viewer=request.user)
        for group in self.result_list:
            group.member_counts = counts.get(group.pk, GroupCounts())


class GroupPagesMixin:
    """A ModelAdmin mixin for customer groups: the list's count columns, the
    change page's panels (tree, members, prices) and the members page."""

    actions_detail = ["members"]

    def get_changelist(self, request: HttpRequest, **kwargs):
        return GroupChangeList

    # -- list columns ------------------------------------------------------------
    @admin.display(description="Direct contacts")
    def direct_count(self, obj: CustomerGroup):
        return format_html('<a href="{}">{}</a>', contacts_url("customer_group", obj), _counts(obj).direct)

    @admin.display(description="Effective contacts")
    def effective_count(self, obj: CustomerGroup):
        return format_html('<a href="{}">{}</a>', contacts_url("effective_group", obj),
                           _counts(obj).effective)

    @admin.display(description="Organizations")
    def organization_count(self, obj: CustomerGroup) -> int:
        return _counts(obj).organizations

    # -- change page panels ----------------------------------------------------------
    @admin.display(description="Place in the tree")
    def tree_display(self, obj: CustomerGroup) -> str:
        if obj.pk is None or not obj.path:
            return "—"
        ancestors = {g.pk: g for g in CustomerGroup.objects.filter(pk__in=ids_in_path(obj.path)[:-1])}
        trail = [ancestors[pk] for pk in ids_in_path(obj.path)[:-1] if pk in ancestors]
        path = format_html_join(" › ", '<a href="{}">{}</a>', (
            (reverse("admin:customers_customergroup_change", args=[g.pk]), g.name) for g in trail))
        children = format_html_join(mark_safe("<br>"), '└ <a href="{}">{}</a> ({})', (
            (reverse("admin:customers_customergroup_change", args=[c.pk]), c.name, c.key)
            for c in obj.children.order_by("path")))
        return format_html("<div id='group-tree'>{}{}<strong>{}</strong><br>{}</div>",
                           path, " › " if trail else "", obj.name, children or "No child groups.")

    @admin.display(description="Members")
    def members_display(self, obj: CustomerGroup) -> str:
        if obj.pk is None:
            return "—"
        counts = _counts(obj)
        members = reverse("admin:customers_customergroup_members", args=[obj.pk])
        return format_html(
            "<div id='group-members'>"
            "<a href='{}'>{} contact(s)</a> assigned directly; "
            "<a href='{}'>{} contact(s)</a> effectively in it (directly, through an organization "
            "or a child group); {} organization(s). <a href='{}'>All members, page by page</a></div>",
            contacts_url("customer_group", obj), counts.direct, contacts_url("effective_group", obj),
            counts.effective, counts.organizations, members)

    @admin.display(description="Price rows for this group")
    def prices_display(self, obj: CustomerGroup) -> str:
        viewer = _viewer(obj)
        if obj.pk is None or not viewer.has_perm("pricing.view_pricerow"):
            return "—"
        rows = (PriceRow.objects.visible_to(viewer)
                .filter(sale_type=SaleType.CUSTOMER_GROUP, sale_code=obj.key)
                .select_related("variant", "product", "market").order_by("market__key", "currency", "pk"))
        shown = list(rows[:PRICE_ROWS_SHOWN + 1])
        if not shown:
            return "No price rows name this group."
        url = f"{reverse('admin:pricing_pricerow_changelist')}?" + urlencode(
            {"sale_type": SaleType.CUSTOMER_GROUP, "q": obj.key})
        lines = format_html_join("", "<tr><td class='pr-4'>{}</td><td class='pr-4'>{}</td>"
                                     "<td class='pr-4'>from {}</td><td class='text-right'>{} {}</td></tr>", (
            (row.variant.sku if row.variant_id else row.product, row.market.key, row.min_quantity.normalize(),
             row.shown_price, row.currency) for row in shown[:PRICE_ROWS_SHOWN]))
        more = "All price rows of this group" if len(shown) > PRICE_ROWS_SHOWN else "Open in the price list"
        return format_html("<table id='group-prices'>{}</table><a href='{}'>{}</a>", lines, url, more)

    @admin.display(description="Segments using this group")
    def segments_display(self, obj: CustomerGroup) -> str:
        viewer = _viewer(obj)
        if obj.pk is None or not viewer.has_perm("marketing.view_segment"):
            return "—"
        segments = list(obj.segments.order_by("key"))
        if not segments:
            return "No segment targets this group."
        return format_html("<div id='group-segments'>{}</div>", format_html_join(", ", '<a href="{}">{}</a>', (
            (reverse("admin:marketing_segment_change", args=[s.pk]), str(s)) for s in segments)))

    # -- the members page ----------------------------------------------------------------
    @action(description="Members", url_path="members", icon="group")
    def members(self, request: HttpRequest, object_id: str):
        """The group's contacts (effective or direct: `?who=`) and its
        organizations, each a page at a time, as the staff member sees them."""
        group = self.get_object(request, object_id)
        direct = request.GET.get("who") == "direct"
        contacts = Contact.objects.visible_to(request.user)
        contacts = contacts.filter(customer_groups=group) if direct else contacts.effectively_in(group)
        contacts = contacts.order_by(*Contact._meta.ordering).only("first_name", "last_name", "email", "key")
        organizations = (Organization.objects.visible_to(request.user).filter(customer_groups=group)
                         .order_by("path").only("name", "key", "depth"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Members of {group}",
            "subtitle": None,
            "opts": self.opts,
            "original": group,
            "app_label": self.opts.app_label,
            "has_view_permission": True,
            "direct": direct,
            "contacts": EstimatingPaginator(contacts, MEMBERS_PER_PAGE).get_page(request.GET.get("page")),
            "organizations": Paginator(organizations, MEMBERS_PER_PAGE).get_page(request.GET.get("org_page")),
            "contact_list_url": contacts_url("customer_group" if direct else "effective_group", group),
        }
        return TemplateResponse(request, "backoffice/customer_group_members.html", context)
