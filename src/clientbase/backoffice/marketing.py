"""Marketing in the back office: visitor groups (criteria as rows, a
storefront preview as the group), segments (and their members), campaigns
with their promotions, content slots with their variants per visitor group.

Marketing definitions are shop-wide: whoever holds a model's view
permission sees all of them. Every write goes through marketing.services
(the same rules as the API), with the staff member and the page's version.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from unfold.admin import TabularInline
from unfold.decorators import action

from clientbase.backoffice.criteria_field import CriteriaField
from clientbase.backoffice.writes import CatalogModelAdmin, Writes, form_changes
from clientbase.backoffice.base import adopt_saved, expected_version
from clientbase.marketing import services
from clientbase.marketing.models import Campaign, ContentSlot, ContentVariant, Promotion, Segment, VisitorGroup
from clientbase.marketing.audience import may_preview
from clientbase.marketing.segments import members as segment_members
from clientbase.transfer.exports import CONTENT_TYPES, export_pieces

MEMBERS_SHOWN = 20


class StorefrontPreviewAction:
    """"Preview the shop as this contact", for a ModelAdmin of contacts: the
    storefront then shows what the contact sees (its visitor groups, slots
    and promotions) with each group's verdict. Offered to staff who may
    preview; the contact must be one they see (else 404)."""

    def get_actions_detail(self, request: HttpRequest, object_id):
        actions = super().get_actions_detail(request, object_id)
        if may_preview(request.user):
            return actions
        name = f"{self.opts.app_label}_{self.opts.model_name}_preview_storefront"
        return [a for a in actions if a.action_name != name]

    @action(description="Preview the shop as this contact", url_path="preview-storefront", icon="storefront")
    def preview_storefront(self, request: HttpRequest, object_id: str):
        self._check_id(request, object_id)
        contact = self.get_object(request, object_id)  # 404 for one the caller cannot see
        if not may_preview(request.user):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("storefront:start_preview") + "?" + urlencode({"contact": contact.pk}))


class VisitorGroupForm(forms.ModelForm):
    criteria = CriteriaField()

    class Meta:
        model = VisitorGroup
        fields = ["key", "name", "description", "match", "threshold", "criteria"]


@admin.register(VisitorGroup)
class VisitorGroupAdmin(CatalogModelAdmin):
    form = VisitorGroupForm
    writes = Writes(services.create_visitor_group, services.update_visitor_group, services.delete_visitor_group)
    list_display = ["name", "key", "match", "criteria_count", "preview_link"]
    search_fields = ["key", "name"]

    @admin.display(description="Criteria")
    def criteria_count(self, obj: VisitorGroup) -> int:
        return len(obj.criteria or [])

    @admin.display(description="Storefront")
    def preview_link(self, obj: VisitorGroup) -> str:
        url = reverse("storefront:start_preview") + f"?group={obj.key}"
        return format_html('<a href="{}" target="_blank" rel="noopener">Preview as this group</a>', url)


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["key", "name", "description", "customer_groups", "visitor_groups"]


@admin.register(Segment)
class SegmentAdmin(CatalogModelAdmin):
    form = SegmentForm
    list_display = ["name", "key", "groups_display"]
    search_fields = ["key", "name"]
    filter_horizontal = ["customer_groups", "visitor_groups"]
    readonly_fields = ["members_display"]
    actions_detail = ["export_members"]
    writes = Writes(services.create_segment, services.update_segment, services.delete_segment)

    def get_fields(self, request, obj=None):
        fields = ["key", "name", "description", "customer_groups", "visitor_groups"]
        return fields + ["members_display"] if obj is not None else fields

    @admin.display(description="Members")
    def members_display(self, obj: Segment) -> str:
        viewer = getattr(obj, "shown_to", None)
        if viewer is None or not viewer.has_perm("customers.view_contact"):
            return "—"
        found = list(segment_members(obj, viewer=viewer).order_by("last_name", "first_name", "pk")
                     .only("first_name", "last_name", "email")[:MEMBERS_SHOWN + 1])
        if not found:
            return "No contact you can see is in its customer groups (visitor groups are judged per visit)."
        names = format_html_join(", ", '<a href="{}">{}</a>', (
            (reverse("admin:customers_contact_change", args=[c.pk]), str(c)) for c in found[:MEMBERS_SHOWN]))
        more = " and more — export them all (CSV)" if len(found) > MEMBERS_SHOWN else ""
        return format_html("<div id='segment-members'>{}{}</div>", names, more)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj.shown_to = request.user  # members_display shows what this staff member sees
        return obj

    @action(description="Export members (CSV)", url_path="export-members", icon="download")
    def export_members(self, request: HttpRequest, object_id: str):
        """The contacts in the segment that the staff member sees, as the
        contact export writes them (the API's field names, formula cells
        neutralised)."""
        segment = self.get_object(request, object_id)
        if segment is None:
            raise Http404("No such segment.")
        if not request.user.has_perm("customers.view_contact"):
            raise PermissionDenied
        pieces = export_pieces("contacts", actor=request.user, file_format="csv",
                               selection=segment_members(segment, viewer=request.user))
        response = StreamingHttpResponse((p.encode() for p in pieces), content_type=CONTENT_TYPES["csv"])
        response["Content-Disposition"] = f'attachment; filename="segment-{segment.key}.csv"'
        return response

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("customer_groups", "visitor_groups")

    @admin.display(description="Audience")
    def groups_display(self, obj: Segment) -> str:
        parts = [g.key for g in obj.customer_groups.all()] + [f"visitor: {g.key}" for g in obj.visitor_groups.all()]
        return ", ".join(parts) or "everyone"

    def save_model(self, request, obj, form, change):
        refs = {"customer_groups": form.cleaned_data.get("customer_groups", []),
                "visitor_groups": form.cleaned_data.get("visitor_groups", [])}
        if change:
            adopt_saved(obj, services.update_segment(obj, changes=form_changes(form), actor=request.user,
                                                     expected_version=expected_version(form), **refs))
        else:
            services.create_segment(obj, actor=request.user, **refs)

    def save_related(self, request, form, formsets, change):
        # The segment's groups were set by the service with the segment.
        for formset in formsets:
            self.save_formset(request, form, formset, change)


def inline_rows(formsets) -> list[forms.ModelForm]:
    """The rows an inline keeps (filled in, not marked for deletion). The
    service replaces the parent's rows with them, so Django saves none
    itself: its change message is told there is nothing of its own."""
    kept = []
    for formset in formsets:
        for row in formset.forms:
            if (row.instance._state.adding and not row.has_changed()) or (
                    formset.can_delete and formset._should_delete_form(row)):
                continue
            kept.append(row)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    return kept


class PromotionInline(TabularInline):
    model = Promotion
    fields = ["kind", "target", "target_key", "value", "coupon", "coupon_limit", "combinable", "priority"]
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(CatalogModelAdmin):
    list_display = ["name", "key", "valid_from", "valid_until", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["key", "name"]
    filter_horizontal = ["segments"]
    inlines = [PromotionInline]
    fields = ["key", "name", "description", "valid_from", "valid_until", "is_active", "segments"]
    writes = Writes(services.create_campaign, services.update_campaign, services.delete_campaign)

    def save_model(self, request, obj, form, change):
        # Saved with its promotions in save_related, in one service call.
        request._pending_save = (obj, form, change)

    def save_related(self, request, form, formsets, change):
        obj, form, change = request._pending_save
        promotions = []
        for row in inline_rows(formsets):
            data = row.cleaned_data
            promotions.append({name: data.get(name) for name in PromotionInline.fields
                               if name in data} | {"value": str(data.get("value"))})
        for promotion in promotions:
            promotion["target_key"] = promotion.get("target_key") or ""
            promotion["coupon"] = promotion.get("coupon") or ""
        segments = form.cleaned_data.get("segments", [])
        if change:
            adopt_saved(obj, services.update_campaign(obj, changes=form_changes(form), actor=request.user,
                                                      expected_version=expected_version(form),
                                                      segments=segments, promotions=promotions))
        else:
            services.create_campaign(obj, actor=request.user, segments=segments, promotions=promotions)


class ContentVariantInline(TabularInline):
    model = ContentVariant
    fields = ["visitor_group", "html"]
    extra = 0


@admin.register(ContentSlot)
class ContentSlotAdmin(CatalogModelAdmin):
    list_display = ["name", "key", "variant_count"]
    search_fields = ["key", "name"]
    inlines = [ContentVariantInline]
    fields = ["key", "name", "default_html"]
    writes = Writes(services.create_content_slot, services.update_content_slot, services.delete_content_slot)

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).prefetch_related("variants")

    @admin.display(description="Variants")
    def variant_count(self, obj: ContentSlot) -> int:
        return len(obj.variants.all())

    def save_model(self, request, obj, form, change):
        request._pending_save = (obj, form, change)

    def save_related(self, request, form, formsets, change):
        obj, form, change = request._pending_save
        variants = [(row.cleaned_data["visitor_group"], row.cleaned_data["html"]) for row in inline_rows(formsets)]
        if change:
            adopt_saved(obj, services.update_content_slot(obj, changes=form_changes(form), actor=request.user,
                                                          expected_version=expected_version(form),
                                                          variants=variants))
        else:
            services.create_content_slot(obj, actor=request.user, variants=variants)
