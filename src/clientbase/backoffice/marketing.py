"""Marketing in the back office: visitor groups (criteria as rows, a
storefront preview as the group), segments (and their members), campaigns
with their promotions, content slots with their variants per visitor group.

Marketing definitions are shop-wide: whoever holds a model's view
permission sees all of them. Every write goes through marketing.services
(the same rules as the API), with the staff member and the page's version.
"""

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import TabularInline

from clientbase.backoffice.criteria_field import CriteriaField
from clientbase.backoffice.writes import CatalogModelAdmin, Writes, form_changes
from clientbase.backoffice.base import adopt_saved, expected_version
from clientbase.marketing import services
from clientbase.marketing.models import Campaign, ContentSlot, ContentVariant, Promotion, Segment, VisitorGroup


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
    writes = Writes(services.create_segment, services.update_segment, services.delete_segment)

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
