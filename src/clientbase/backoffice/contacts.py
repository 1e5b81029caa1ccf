"""Contacts in the back office: a person with addresses, organizations and
customer groups."""

from decimal import Decimal

from django import forms
from django.contrib.auth.models import AnonymousUser
from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from unfold.admin import StackedInline
from unfold.views import ChangeList

from clientbase.catalog.models import Market, Variant
from clientbase.backoffice.base import (
    ScopedModelAdmin, _pk_or_none, adopt_saved, expected_version, read_version,
)
from clientbase.backoffice.contact_360 import Contact360Mixin
from clientbase.backoffice.gdpr import PERSONAL_DATA_ACTIONS, PersonalDataActions
from clientbase.backoffice.marketing import StorefrontPreviewAction
from clientbase.backoffice.contact_bulk import BULK_ACTIONS
from clientbase.backoffice.contact_filters import (
    LIST_FILTERS, ORGANIZATION_CHOICES_URL, ContactColumns, EstimatingPaginator, organization_choices_view,
    prefetch_columns,
)
from clientbase.backoffice.scopes import choices_for, is_autocomplete
from clientbase.customers.models import Address, Contact, GrantLevel, Organization
from clientbase.core.errors import DomainError
from clientbase.customers.services.contacts import (
    ADDRESS_FIELDS,
    CONTACT_FIELDS,
    check_stays_managed,
    clean_addresses,
    clean_contact_fields,
    create_contact,
    delete_contact,
    update_contact,
)
from clientbase.pricing.services import resolve_prices

# How many variants the contact page prices (the full list is a link away).
PRICE_PREVIEW_SIZE = 10


class AddressFormSet(BaseInlineFormSet):
    """Checks the addresses with the same rules as the API and imports
    (ISO country, E.164 phone, at most one default of each kind)."""

    def clean(self):
        super().clean()
        forms_kept = [form for form in self.forms
                      if form.has_changed() or form.instance.pk
                      if not self._should_delete_form(form) and hasattr(form, "cleaned_data")]
        values = [{name: form.cleaned_data.get(name) for name in ADDRESS_FIELDS
                   if name in form.cleaned_data} for form in forms_kept]
        _, errors = clean_addresses(values)
        for error in errors:
            parts = error.field.split(".")
            if len(parts) == 3 and parts[2] in forms_kept[int(parts[1])].fields:
                forms_kept[int(parts[1])].add_error(parts[2], error.message)
            else:
                raise forms.ValidationError(error.message, code=error.code)


class AddressInline(StackedInline):
    model = Address
    fk_name = "contact"
    formset = AddressFormSet
    fields = [("name", "first_name", "last_name"), ("line1", "line2"),
              ("postcode", "city", "region", "country"), "phone",
              ("is_default_shipping", "is_default_billing")]
    extra = 0
    tab = True


class ContactForm(forms.ModelForm):
    # Set per request by ContactAdmin.get_form.
    request_user = None
    hidden_organization_ids: set = frozenset()

    class Meta:
        model = Contact
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        # The same field rules as the API and imports (language tag, ISO
        # currency, e-mail, E.164 phone, birth date, key), in one place.
        present = {name: cleaned[name] for name in CONTACT_FIELDS if name in cleaned}
        normalized, errors = clean_contact_fields(present)
        for error in errors:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        for name, value in normalized.items():
            if name in cleaned:
                cleaned[name] = value
        # The service's scope rule, asked early so that it shows on the field:
        # the contact must stay in an organization the staff member manages.
        if "organizations" in cleaned:
            try:
                check_stays_managed(self.request_user, self.all_organizations())
            except DomainError as exc:
                self.add_error("organizations", exc.detail)
        return cleaned

    def all_organizations(self) -> list[Organization]:
        """The organizations picked, plus those the form could not offer
        (outside what the staff member manages), which saving keeps."""
        picked = list(self.cleaned_data.get("organizations") or [])
        return picked + list(Organization.objects.filter(pk__in=self.hidden_organization_ids))


# The "Contacts" links of the organization list filter contacts by membership.
ORGANIZATION_LOOKUP = "organizations__id__exact"


class ContactChangeList(ChangeList):
    """The contact list, where a filter by an organization the staff member
    cannot see lists nothing, exactly as an id naming no organization does.
    The list is already scoped to visible contacts; without this, a contact
    visible through another organization would be listed (and counted) as a
    member of the invisible one (issue 8)."""

    def get_queryset(self, request, exclude_parameters=None):
        qs = super().get_queryset(request, exclude_parameters)
        wanted = {_pk_or_none(Organization, value) for value in request.GET.getlist(ORGANIZATION_LOOKUP)}
        if wanted and Organization.objects.visible_to(request.user).filter(pk__in=wanted).count() < len(wanted):
            return qs.none()
        return qs

    def get_results(self, request):
        super().get_results(request)
        # The page's columns (organizations, groups, account): a query per
        # relation whatever the page size.
        self.result_list = list(self.result_list)
        prefetch_columns(request, self.result_list)


@admin.register(Contact)
class ContactAdmin(ContactColumns, StorefrontPreviewAction, PersonalDataActions, Contact360Mixin, ScopedModelAdmin):
    form = ContactForm
    actions_detail = [*Contact360Mixin.actions_detail, *PERSONAL_DATA_ACTIONS, "preview_storefront"]
    inlines = [AddressInline]
    list_display = ["full_name_display", "email", "key", "organizations_column", "customer_groups_column",
                    "has_account_column", "source", "created_column"]
    list_filter = LIST_FILTERS
    list_filter_submit = True
    # Counts per filter choice would count a million contacts per choice.
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatingPaginator
    actions = BULK_ACTIONS
    # Searching is done by `Contact.objects.search`; a non-empty list turns on
    # the search box and the autocomplete endpoint.
    search_fields = ["search_last_name"]
    search_help_text = "Name, e-mail or key; matches the beginning (\"ann smi\", \"ann@\")."
    show_full_result_count = False
    list_per_page = 50
    autocomplete_fields = ["organizations", "customer_groups"]
    readonly_fields = ["id", "version", "created_at", "updated_at", "prices_link", "organizations_display"]
    fieldsets = [
        (None, {"fields": [("first_name", "last_name"), ("email", "phone"), "key"]}),
        ("Membership", {"fields": ["organizations", "customer_groups"]}),
        ("Preferences", {"fields": [("preferred_language", "preferred_currency"), "birth_date",
                                    "source"]}),
        ("Record", {"fields": [("id", "version"), ("created_at", "updated_at")],
                    "classes": ["collapse"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Contact | None = None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            # A read-only page would list every organization of the contact;
            # the display names only those the caller sees.
            fieldsets = [(name, {**options, "fields": [
                "organizations_display" if field == "organizations" else field for field in options["fields"]]})
                for name, options in fieldsets]
        if obj is not None:
            fields = ["prices_link"] if request.user.has_perm("pricing.view_pricerow") else []
            fieldsets = self.contact_360_fieldsets(request, fieldsets, prices=fields)
        return fieldsets

    @admin.display(description="Organizations")
    def organizations_display(self, obj: Contact) -> str:
        shown = Organization.objects.visible_to(getattr(obj, "shown_to", AnonymousUser())).filter(
            contacts=obj).order_by("path")
        return format_html_join(mark_safe("<br>"), "{}", ((organization,) for organization in shown)) or "—"

    @admin.display(description="Prices")
    def prices_link(self, obj: Contact) -> str:
        """A preview of what the contact pays — the first variants in the
        first active market, through the one resolver — and a link to all of
        its prices (the pricing admin's page, by URL name: the pricing admin
        builds on this one, not the reverse)."""
        url = f"{reverse('admin:pricing_pricerow_preview')}?contact={obj.pk}"
        link = format_html('<a class="text-primary-600 underline" href="{}">All prices as {}</a>', url, obj)
        market = Market.objects.filter(is_active=True).order_by("key").first()
        skus = list(Variant.objects.order_by("sku").values_list("sku", flat=True)[:PRICE_PREVIEW_SIZE])
        if market is None or not skus:
            return link
        prices = resolve_prices(skus, contact=obj, quantity=Decimal(1), market=market,
                                currency=market.default_currency)
        rows = format_html_join(
            "", "<tr><td class='pr-4'>{}</td><td class='text-right'>{}</td><td class='pl-4'>{}</td></tr>",
            ((sku, f"{r.unit_price} {r.currency}" if r.price else "no price",
              r.price.sale_code or r.price.sale_type if r.price else "") for sku, r in prices.items()),
        )
        return format_html("<table><caption class='text-left'>{} ({}), quantity 1</caption>{}</table>{}",
                           market.name, market.key, rows, link)

    def scoped_queryset(self, request: HttpRequest) -> QuerySet:
        return Contact.objects.visible_to(request.user)

    def managed_queryset(self, request: HttpRequest) -> QuerySet:
        return Contact.objects.visible_to(request.user, GrantLevel.MANAGE)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = super().get_queryset(request)
        if is_autocomplete(request):
            # Linking an account to a contact changes the contact.
            qs = qs & self.managed_queryset(request)
        return qs

    @admin.display(description="Name", ordering="search_last_name")
    def full_name_display(self, obj: Contact) -> str:
        return obj.full_name or "—"

    def lookup_allowed(self, lookup, value, request=None):
        # "Contacts" links from the organization list filter by membership;
        # ContactChangeList answers an invisible organization like a nonexistent one.
        return lookup == ORGANIZATION_LOOKUP or super().lookup_allowed(lookup, value, request)

    def get_changelist(self, request: HttpRequest, **kwargs):
        return ContactChangeList

    def get_urls(self):
        # The organization filter's autocomplete (visible organizations).
        view = self.admin_site.admin_view(organization_choices_view)
        return [path("organization-choices/", view, name=ORGANIZATION_CHOICES_URL), *super().get_urls()]

    def get_search_results(self, request, queryset, search_term):
        return queryset.search(search_term), False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        hidden = self._hidden_organization_ids(request, obj)

        class ScopedContactForm(form_class):
            request_user = request.user
            hidden_organization_ids = hidden

        return ScopedContactForm

    def _hidden_organization_ids(self, request: HttpRequest, obj: Contact | None) -> set:
        """The organizations of `obj` that the caller cannot pick: the form
        does not offer them, and saving must not drop them."""
        if obj is None or obj._state.adding:
            return set()
        pickable = choices_for(request, Organization)
        ids = set(obj.organizations.values_list("pk", flat=True))
        return ids - set(pickable.filter(pk__in=ids).values_list("pk", flat=True))

    # -- saving through the services: the same rules as the API ----------------
    def save_model(self, request, obj: Contact, form, change: bool) -> None:
        """Nothing yet: the contact is saved with its memberships and
        addresses in one service call (save_related), once the inlines are
        validated too."""

    def save_related(self, request, form, formsets, change) -> None:
        fields = {name: form.cleaned_data[name] for name in CONTACT_FIELDS
                  if name in form.cleaned_data and (not change or name in form.changed_data)}
        memberships = {
            "organizations": form.all_organizations(),
            "customer_groups": list(form.cleaned_data.get("customer_groups") or []),
        }
        if change:
            memberships = {k: v for k, v in memberships.items() if k in form.changed_data}
        addresses = _addresses(formsets)
        if change:
            saved = update_contact(form.instance, actor=request.user, changes=fields,
                                   expected_version=expected_version(form), addresses=addresses,
                                   **memberships)
        else:
            saved = create_contact(actor=request.user, fields=fields, addresses=addresses or (),
                                   **memberships)
        adopt_saved(form.instance, saved)

    def delete_model(self, request, obj: Contact) -> None:
        delete_contact(obj, actor=request.user, expected_version=read_version(request))

    def delete_queryset(self, request, queryset) -> None:
        for contact in queryset:
            delete_contact(contact, actor=request.user)


def _addresses(formsets) -> list[dict] | None:
    """The addresses of the inline as the service takes them (an existing
    one with its id), or None when the inline did not change."""
    for formset in formsets:
        if formset.model is not Address:
            continue
        # The admin's change message reads what formset.save() would have
        # set; the service saves the addresses instead (history records them).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if not formset.has_changed():
            return None
        rows = []
        for form in formset.forms:
            if formset._should_delete_form(form) or not (form.has_changed() or form.instance.pk):
                continue
            row = {name: form.cleaned_data.get(name) for name in ADDRESS_FIELDS if name in form.cleaned_data}
            if form.instance.pk and not form.instance._state.adding:
                row["id"] = form.instance.pk
            rows.append(row)
        return rows
    return None
