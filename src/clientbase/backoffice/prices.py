"""Prices in the back office: price rows, a variant's price grid, and
previews of what a visitor pays.

Views added to the price-row admin (all need `pricing.view_pricerow`):
  /admin/pricing/pricerow/variant/<id>/preview/  a variant's grid, a preview
      form, the resolved price and the explain table
  /admin/pricing/pricerow/preview/?contact=<id or key>&market=EU&currency=EUR
      every variant's price as that contact (omit `contact`: anonymous),
      50 per page; a contact the staff member cannot see answers 404, with
      the form saying "not found, or not visible to you"
  /admin/pricing/pricerow/contacts/?term=…  the preview form's contact
      autocomplete (contacts the staff member sees)
Every price shown comes from pricing.services (resolve_price/resolve_prices),
the resolver the storefront and the API use.
"""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import (
    Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from unfold.decorators import action

from clientbase.backoffice.exports import export_actions
from clientbase.backoffice.base import _pk_or_none, without_nul
from clientbase.backoffice.price_grid import (
    contact_prices_url, explain_rows, price_grid, quantity_label, variant_preview_url,
)
from clientbase.catalog.models import Market, Variant
from clientbase.core.errors import Invalid
from clientbase.core.pagination import Keyset
from clientbase.customers.models import Contact
from clientbase.customers.models.visibility import contact_scope
from clientbase.backoffice.price_forms import PreviewForm, PriceRowForm, contact_label, find_contact
from clientbase.pricing.models import PriceRow, SaleType
from clientbase.backoffice.writes import CatalogModelAdmin, Writes
from clientbase.pricing import services
from clientbase.pricing.services import resolve_price, resolve_prices

PAGE_SIZE = 50
# The "prices as a contact" page walks the variants by SKU, a page at a time,
# as the API's lists do: no count, no OFFSET, however big the catalog.
VARIANT_PAGES = Keyset("sku")


# --- The price-row admin ----------------------------------------------------------


class CurrencyFilter(admin.SimpleListFilter):
    """The currencies the markets sell in (not a DISTINCT over every price row)."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        codes = {c for m in Market.objects.only("currencies") for c in m.currencies}
        return [(c, c) for c in sorted(codes)]

    def queryset(self, request, queryset):
        code = without_nul(self.value() or "")
        return queryset.filter(currency=code) if code else queryset


class SaleTypeFilter(admin.SimpleListFilter):
    """Sale types; an unknown value filters nothing (rather than reaching the
    database, which PostgreSQL answers with an error for a NUL)."""

    title = "sale type"
    parameter_name = "sale_type"

    def lookups(self, request, model_admin):
        return SaleType.choices

    def queryset(self, request, queryset):
        return queryset.filter(sale_type=self.value()) if self.value() in SaleType.values else queryset


@admin.register(PriceRow)
class PriceRowAdmin(CatalogModelAdmin):
    writes = Writes(services.create_price_row, services.update_price_row, services.delete_price_row)
    form = PriceRowForm
    list_display = ["target_display", "level_display", "market", "currency", "sale_type",
                    "sale_code", "min_quantity_display", "price_display", "valid_from", "valid_until"]
    list_filter = ["market", CurrencyFilter, SaleTypeFilter]
    list_select_related = ["variant", "product", "market"]
    search_fields = ["sale_code"]
    search_help_text = "SKU (beginning), product key or sale code (exact)."
    autocomplete_fields = ["variant", "product", "market"]
    readonly_fields = ["id", "version", "created_at", "updated_at"]
    show_full_result_count = False
    list_per_page = 50
    actions_list = ["preview_prices"]
    actions = export_actions("prices")
    fieldsets = [
        ("Applies to", {"fields": [("variant", "product")]}),
        ("Price", {"fields": [("market", "currency"), ("sale_type", "sale_code"),
                              ("min_quantity", "unit_price")]}),
        # Each a date and a time: side by side they would not fit.
        ("Validity", {"fields": ["valid_from", "valid_until"],
                      "description": "Empty: valid from always / until further notice. The end is "
                                     "exclusive and must be after the start."}),
        ("Record", {"fields": [("id", "version"), ("created_at", "updated_at")],
                    "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest):
        # A customer's price shows only to whom sees the customer (issue 8):
        # changelist, search, change and history pages all read from here.
        return super().get_queryset(request).visible_to(request.user)

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        return type(form_class.__name__, (form_class,), {"request_user": request.user})

    def _require_visible_history(self, request: HttpRequest, object_id: str) -> None:
        """404 unless the caller may see the row whose history is asked for:
        simple_history reads historical records past get_queryset (the form
        view always, the list view for a row it does not find). The history
        of a deleted customer price stays with who sees every contact."""
        pk = _pk_or_none(PriceRow, object_id)
        if self.get_queryset(request).filter(pk=pk).exists():
            return
        if PriceRow.objects.filter(pk=pk).exists() or not contact_scope(request.user).everything and (
                PriceRow.history.filter(id=pk, sale_type=SaleType.CUSTOMER).exists()):
            raise Http404("No such price row.")

    def history_view(self, request: HttpRequest, object_id: str, extra_context=None):
        self._require_visible_history(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str,
                          extra_context=None):
        self._require_visible_history(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    @admin.display(description="Variant / product")
    def target_display(self, obj: PriceRow) -> str:
        return obj.variant.sku if obj.variant_id else str(obj.product)

    @admin.display(description="Level")
    def level_display(self, obj: PriceRow) -> str:
        return "variant" if obj.variant_id else "product"

    @admin.display(description="From qty", ordering="min_quantity")
    def min_quantity_display(self, obj: PriceRow) -> str:
        return quantity_label(obj.min_quantity)

    @admin.display(description="Unit price", ordering="unit_price")
    def price_display(self, obj: PriceRow) -> str:
        return f"{obj.shown_price} {obj.currency}"

    def get_search_results(self, request, queryset, search_term):
        term = without_nul(search_term).strip()
        if not term:
            return queryset, False
        # Prefix and equality lookups only: the SKU's unique index and the
        # (sale_type, sale_code) index answer them on millions of rows.
        return queryset.filter(Q(variant__sku__startswith=term) | Q(product__key=term)
                               | Q(sale_code=term)), False

    @action(description="Preview prices", url_path="preview-prices", icon="price_check")
    def preview_prices(self, request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect(contact_prices_url())

    # -- preview views ---------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("preview/", wrap(self.contact_prices_view), name="pricing_pricerow_preview"),
            path("variant/<uuid:variant_id>/preview/", wrap(self.variant_preview_view),
                 name="pricing_variant_preview"),
            path("contacts/", wrap(self.contact_autocomplete_view), name="pricing_contact_autocomplete"),
            *super().get_urls(),
        ]

    def _require_preview(self, request: HttpRequest) -> None:
        # Previews are reads: whoever may view prices and variants may use them.
        if not (self.has_view_permission(request) and request.user.has_perm("catalog.view_variant")):
            raise PermissionDenied

    def _context(self, request: HttpRequest, title: str, **extra) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "has_view_permission": True,
            **extra,
        }

    def variant_preview_view(self, request: HttpRequest, variant_id) -> HttpResponse:
        """A variant's price grid and the price a chosen visitor pays, with
        every candidate row and why it applied or not."""
        self._require_preview(request)
        variant = Variant.objects.select_related("product").filter(pk=variant_id).first()
        if variant is None:
            raise Http404("No such variant.")
        form = PreviewForm(_with_defaults(request.GET) if "market" in request.GET else None,
                           user=request.user)
        resolution = None
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            resolution = resolve_price(variant.sku, contact=data["contact"], quantity=data["quantity"],
                                       market=data["market"], currency=data["currency"],
                                       at=data["at"], explain=True)
        context = self._context(
            request, f"Prices of {variant}",
            variant=variant,
            variant_url=reverse("admin:catalog_variant_change", args=[variant.pk]),
            price_grid=price_grid(variant, request.user),
            preview_form=form,
            preview_url=variant_preview_url(variant),
            resolution=resolution,
            candidates=explain_rows(resolution, request.user) if resolution else [],
            contact=form.cleaned_data.get("contact") if resolution else None,
            contact_prices_url=(contact_prices_url(form.cleaned_data.get("contact"))
                                if resolution else None),
            media=form.media,
        )
        return TemplateResponse(request, "pricing/variant_preview.html", context)

    def contact_prices_view(self, request: HttpRequest) -> HttpResponse:
        """Every variant's price as one contact (or anonymous) sees it, 50 per
        page, resolved in one batch per page."""
        self._require_preview(request)
        ref = (request.GET.get("contact") or "").strip()
        contact = find_contact(Contact.objects.visible_to(request.user), ref) if ref else None
        # A contact the caller may not see does not exist for it: a 404, whose
        # page says why (the form's error on the contact) and lists no price.
        refused = bool(ref) and contact is None
        form = PreviewForm(_with_defaults(request.GET, contact=ref), user=request.user)
        page = None
        lines: list[dict[str, Any]] = []
        if form.is_valid():
            data = form.cleaned_data
            variants = Variant.objects.select_related("product")
            sku_prefix = without_nul(request.GET.get("q") or "").strip()
            if sku_prefix:
                variants = variants.filter(sku__startswith=sku_prefix)
            try:
                page = VARIANT_PAGES.page(variants, limit=PAGE_SIZE, cursor=request.GET.get("cursor"))
            except Invalid:  # a cursor we did not give out (edited by hand): the first page
                page = VARIANT_PAGES.page(variants, limit=PAGE_SIZE)
            prices = resolve_prices([v.sku for v in page.items], contact=contact, quantity=data["quantity"],
                                    market=data["market"], currency=data["currency"], at=data["at"])
            for variant in page.items:
                resolution = prices[variant.sku]
                lines.append({"variant": variant, "resolution": resolution,
                              "preview_url": variant_preview_url(variant) + "?" + _query(
                                  request.GET, contact=ref, cursor=None, q=None)})
        title = (f"Prices as {contact_label(contact)}" if contact else "Prices as a contact not found"
                 if refused else "Prices as an anonymous visitor")
        context = self._context(
            request, title,
            contact=contact,
            contact_url=(reverse("admin:customers_contact_change", args=[contact.pk])
                         if contact else None),
            preview_form=form,
            page=page,
            lines=lines,
            sku_prefix=request.GET.get("q", ""),
            page_query=_query(request.GET, cursor=None),
            media=form.media,
        )
        return TemplateResponse(request, "pricing/contact_prices.html", context, status=404 if refused else 200)

    def contact_autocomplete_view(self, request: HttpRequest) -> JsonResponse:
        """Select2's answer for the preview form: visible contacts matching
        the term (name, e-mail or key, by prefix), 20 at most."""
        self._require_preview(request)
        term = without_nul(request.GET.get("term") or request.GET.get("q") or "").strip()
        contacts = Contact.objects.visible_to(request.user)
        if term:
            contacts = contacts.search(term)
        found = list(contacts.order_by("search_last_name", "search_first_name", "id")[:21])
        return JsonResponse({
            "results": [{"id": str(c.pk), "text": contact_label(c)} for c in found[:20]],
            "pagination": {"more": len(found) > 20},
        })


def _with_defaults(params, **overrides) -> dict[str, Any]:
    """Query parameters with the preview's defaults: the first active market,
    quantity 1."""
    data = {"quantity": "1", **{k: params.get(k) for k in params}, **overrides}
    if not data.get("market"):
        first = Market.objects.filter(is_active=True).order_by("key").values_list("key", flat=True).first()
        data["market"] = first or ""
    return data


def _query(params, **overrides) -> str:
    """The query string of `params` with `overrides` (None: removed)."""
    query = QueryDict(mutable=True)
    for key in params:
        query[key] = params.get(key)
    for key, value in overrides.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return query.urlencode()
