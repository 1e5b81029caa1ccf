"""The catalog in the back office: markets, products and their variants.

Every save and delete is one call of clientbase.catalog.services (or, for a
market's deletion, clientbase.pricing.services) with the staff member and the
version the page showed, as the API calls them: the back office refuses what
the API refuses, and shows it on the field at fault or as a message. A variant's
change page also shows its price grid and a price preview (see
clientbase.backoffice.prices, which owns the price views).
"""

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import TabularInline
from unfold.widgets import UnfoldAdminTextInputWidget

from clientbase.backoffice.base import expected_version, without_nul
from clientbase.backoffice.errors import change_url_of_delete
from clientbase.backoffice.options_field import OptionsField
from clientbase.backoffice.price_grid import price_grid, variant_preview_url
from clientbase.catalog.models import Market, Product, Variant
from clientbase.backoffice.writes import (
    CatalogModelAdmin, VersionedInlineForm, Writes, form_changes, read_version,
)
from clientbase.catalog import services
from clientbase.core.errors import DomainError
from clientbase.backoffice.price_forms import PreviewForm, add_domain_errors
from clientbase.pricing.models import PriceRow
from clientbase.pricing.services import check_market_currencies, counted_rows, delete_market


class UnseenPricesMixin:
    """Deleting a product or a variant deletes its price rows, and Django's
    confirmation page lists each one by name; a customer price names its
    customer (the sale code) and what it pays. The rows of customers the
    caller may not see (PriceRowQuerySet.visible_to) are neither named nor
    counted — the summary counts the rows it sees — and one line says that
    others go too (issue 8: a count never betrays a customer)."""

    # How a price row refers to the objects deleted (any of them).
    price_lookups: tuple[str, ...] = ()

    def get_deleted_objects(self, objs, request: HttpRequest):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        refers = Q()
        for lookup in self.price_lookups:
            refers |= Q(**{lookup: objs})
        unseen = list(PriceRow.objects.filter(refers)
                      .exclude(pk__in=PriceRow.objects.visible_to(request.user).values("pk"))
                      .values_list("pk", flat=True))
        if unseen:
            urls = {reverse("admin:pricing_pricerow_change", args=[quote(pk)]) for pk in unseen}
            deleted = _without(deleted, urls)
            deleted.append("Price rows of customers you cannot see")
            label = PriceRow._meta.verbose_name_plural
            model_count[label] = model_count.get(label, 0) - len(unseen)
            if model_count[label] <= 0:
                del model_count[label]
        return deleted, model_count, perms_needed, protected


def _without(items: list, urls: set[str]) -> list:
    """Django's nested list of what a delete takes along, without the entries
    that link to any of `urls`."""
    kept = []
    for item in items:
        if isinstance(item, list):
            kept.append(_without(item, urls))
        elif not any(url in item for url in urls):
            kept.append(item)
    return kept


# --- Markets ----------------------------------------------------------------


class CodeListField(forms.CharField):
    """A list of upper-case codes typed as "DE, FR NL"; stored as a JSON list."""

    widget = UnfoldAdminTextInputWidget

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, (list, tuple)):
            return [str(v).strip().upper() for v in value if str(v).strip()]
        text = super().to_python(value) or ""
        return [part.upper() for part in re.split(r"[\s,;|]+", text) if part]

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.to_python(initial) != self.to_python(data)


class MarketForm(forms.ModelForm):
    countries = CodeListField(required=False, help_text="ISO 3166-1 alpha-2 codes, e.g. DE, FR, NL.")
    currencies = CodeListField(help_text="ISO 4217 codes, e.g. EUR, USD. The first is the default "
                                         "unless you choose one.")

    class Meta:
        model = Market
        fields = ["key", "name", "countries", "currencies", "default_currency", "is_active"]
        help_texts = {"default_currency": "One of the currencies; empty: the first one."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "default_currency" in self.fields:  # absent on a read-only page
            self.fields["default_currency"].required = False

    def clean(self) -> dict:
        cleaned = super().clean()
        if {"countries", "currencies"} & set(self.errors):
            return cleaned
        # The service's normalization and rules, reported on the fields
        # instead of as a 422 after the form.
        probe = Market(pk=self.instance.pk, key=cleaned.get("key") or "", name=cleaned.get("name", ""),
                       countries=cleaned.get("countries") or [], currencies=cleaned.get("currencies") or [],
                       default_currency=cleaned.get("default_currency") or "")
        probe._state.adding = self.instance._state.adding
        services.normalize_market(probe)
        cleaned.update(countries=probe.countries, currencies=probe.currencies,
                       default_currency=probe.default_currency)
        for check in (services.validate_market, check_market_currencies):
            try:
                check(probe)
            except DomainError as exc:
                add_domain_errors(self, exc)
        return cleaned


@admin.register(Market)
class MarketAdmin(CatalogModelAdmin):
    # Deleting refuses (409) a market that price rows use, even if rows
    # appeared after the confirmation page.
    writes = Writes(services.create_market, services.update_market, delete_market)
    form = MarketForm
    list_display = ["key", "name", "countries_display", "currencies_display", "default_currency",
                    "is_active"]
    list_filter = ["is_active"]
    search_fields = ["key", "name"]
    readonly_fields = ["id", "version", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": [("key", "name"), "countries", ("currencies", "default_currency"),
                           "is_active"]}),
        ("Record", {"fields": [("id", "version"), ("created_at", "updated_at")],
                    "classes": ["collapse"]}),
    ]

    def get_search_results(self, request, queryset, search_term):
        term = without_nul(search_term).strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(key__istartswith=term) | Q(name__istartswith=term)), False

    @admin.display(description="Countries")
    def countries_display(self, obj: Market) -> str:
        return ", ".join(obj.countries)

    @admin.display(description="Currencies")
    def currencies_display(self, obj: Market) -> str:
        return ", ".join(obj.currencies)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        # Price rows protect their market. Django's confirmation page would
        # list every one of them (millions, in a big shop); refuse up front
        # with the count instead, as the API does — or, asked explicitly
        # (?with_prices=1), delete the market and its rows in one request.
        market = self.get_object(request, object_id)
        if market is None or not self.has_delete_permission(request, market):
            return super().delete_view(request, object_id, extra_context)
        rows = PriceRow.objects.filter(market=market)
        if not rows.exists():
            return super().delete_view(request, object_id, extra_context)
        may_delete_prices = request.user.has_perm("pricing.delete_pricerow")
        if request.GET.get("with_prices") == "1":
            if not may_delete_prices:
                raise PermissionDenied
            return self.with_version(request, market) or self._delete_with_prices(
                request, market, counted_rows(rows, request.user))
        rows_url = reverse("admin:pricing_pricerow_changelist") + f"?market__id__exact={market.pk}"
        message = format_html('Market {} was not deleted: {} use it. Delete or move them '
                              'first (<a href="{}" class="underline">see them</a>)', market.key,
                              counted_rows(rows, request.user), rows_url)
        if may_delete_prices:
            message = format_html('{}, or <a href="{}?with_prices=1" class="underline" id="delete-with-prices">'
                                  'delete the market with its price rows</a>.', message, request.path)
        messages.error(request, message)
        return HttpResponseRedirect(change_url_of_delete(request.path))

    def _delete_with_prices(self, request: HttpRequest, market: Market, count: str) -> HttpResponse:
        """A confirmation page; on POST, the market and its price rows go in
        one transaction (pricing.services.delete_market)."""
        if request.method == "POST":
            key = market.key
            try:
                with transaction.atomic():
                    self.log_deletions(request, [market])  # before: deleting clears the pk
                    delete_market(market, actor=request.user, delete_prices=True,
                                  expected_version=read_version(request))
            except DomainError as exc:
                messages.error(request, exc.detail)
                return HttpResponseRedirect(change_url_of_delete(request.path))
            messages.success(request, f"Deleted market {key} and {count}.")
            return HttpResponseRedirect(reverse("admin:catalog_market_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Delete market {market.key} and its price rows?",
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "original": market,
            "count": count,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "catalog/market_delete_with_prices.html", context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # A bulk delete would bypass the "no price rows" rule.
        actions.pop("delete_selected", None)
        return actions


# --- Products and variants ----------------------------------------------------


class VariantForm(VersionedInlineForm):
    # Named fields (size, colour, …), not JSON; checked by the service's rule.
    options = OptionsField()

    class Meta:
        model = Variant
        fields = ["sku", "product", "name", "options", "is_active"]


class VariantInline(TabularInline):
    model = Variant
    form = VariantForm
    fields = ["sku", "name", "options", "is_active", "expected_version"]
    extra = 0
    show_change_link = True
    tab = True


@admin.register(Product)
class ProductAdmin(UnseenPricesMixin, CatalogModelAdmin):
    price_lookups = ("product__in", "variant__product__in")
    writes = Writes(services.create_product, services.update_product, services.delete_product)
    inlines = [VariantInline]
    list_display = ["name", "key", "variant_count", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "key"]
    readonly_fields = ["id", "version", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": [("name", "key"), "description", "is_active"]}),
        ("Record", {"fields": [("id", "version"), ("created_at", "updated_at")],
                    "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_variant_count=Count("variants"))

    @admin.display(description="Variants", ordering="_variant_count")
    def variant_count(self, obj: Product) -> int:
        return obj._variant_count

    def get_search_results(self, request, queryset, search_term):
        term = without_nul(search_term).strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(name__istartswith=term) | Q(key__startswith=term)), False

    def save_formset(self, request, form, formset, change):
        if formset.model is not Variant:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # sorts the forms, and sets the product of new variants
        for variant in formset.new_objects:
            services.create_variant(variant, actor=request.user)
        for variant_form in formset.initial_forms:
            version = expected_version(variant_form)
            if variant_form in formset.deleted_forms:
                services.delete_variant(variant_form.instance, actor=request.user, expected_version=version)
            elif variant_form.has_changed():
                services.update_variant(variant_form.instance, changes=form_changes(variant_form),
                                        actor=request.user, expected_version=version)


@admin.register(Variant)
class VariantAdmin(UnseenPricesMixin, CatalogModelAdmin):
    price_lookups = ("variant__in",)
    writes = Writes(services.create_variant, services.update_variant, services.delete_variant)
    form = VariantForm
    list_display = ["sku", "name", "product", "options_display", "is_active", "prices_link"]
    list_filter = ["is_active"]
    list_select_related = ["product"]
    search_fields = ["sku", "name"]
    search_help_text = "SKU or name (beginning)."
    autocomplete_fields = ["product"]
    readonly_fields = ["id", "version", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": [("sku", "product"), "name", "options", "is_active"]}),
        ("Record", {"fields": [("id", "version"), ("created_at", "updated_at")],
                    "classes": ["collapse"]}),
    ]
    # The price grid and the preview form, below the variant's own form.
    change_form_outer_after_template = "catalog/variant_prices.html"

    @admin.display(description="Options")
    def options_display(self, obj: Variant) -> str:
        return ", ".join(f"{k}: {v}" for k, v in obj.options.items())

    @admin.display(description="Prices")
    def prices_link(self, obj: Variant) -> str:
        return format_html('<a href="{}" class="text-primary-600">grid and preview</a>',
                           variant_preview_url(obj))

    def get_search_results(self, request, queryset, search_term):
        term = without_nul(search_term).strip()
        if not term:
            return queryset, False
        # Prefix lookups: the SKU's unique index answers them on a big catalog.
        return queryset.filter(Q(sku__startswith=term) | Q(name__istartswith=term)), False

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None
                    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        variant = self.get_object(request, object_id)
        if variant is not None:
            extra_context.update(self.prices_context(request, variant))
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if "preview_form" in context:
            # The preview's contact autocomplete needs its scripts on the page.
            context["media"] = context["media"] + context["preview_form"].media
        return super().render_change_form(request, context, add, change, form_url, obj)

    def prices_context(self, request: HttpRequest, variant: Variant) -> dict[str, Any]:
        """The grid and an empty preview form, for the variant's change page."""
        return {
            "price_grid": price_grid(variant, request.user),
            "preview_form": PreviewForm(user=request.user),
            "preview_url": variant_preview_url(variant),
            "add_price_url": (reverse("admin:pricing_pricerow_add") + f"?variant={variant.pk}"
                              if request.user.has_perm("pricing.add_pricerow") else None),
            "add_product_price_url": (reverse("admin:pricing_pricerow_add") + f"?product={variant.product_id}"
                                      if request.user.has_perm("pricing.add_pricerow") else None),
        }
