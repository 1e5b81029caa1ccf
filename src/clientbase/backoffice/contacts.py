"""Contacts in the back office: a person with addresses, organizations and
customer groups."""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from unfold.admin import StackedInline

from clientbase.catalog.models import Market, Variant
from clientbase.backoffice.base import ScopedModelAdmin
from clientbase.backoffice.scopes import choices_for, is_autocomplete
from clientbase.customers.models import Address, Contact, GrantLevel, Organization
from clientbase.customers.services.contacts import (
    ADDRESS_FIELDS,
    CONTACT_FIELDS,
    clean_addresses,
    clean_contact_fields,
    delete_contact,
)
from clientbase.customers.services.groups import effective_groups
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
        # Someone who may manage only some organizations' contacts must put a
        # contact in one of them: otherwise it would vanish from their view
        # the moment it is saved.
        user = getattr(self, "request_user", None)
        if user is not None and not (
            user.sees_everything or user.has_perm("customers.manage_all_contacts")
        ):
            kept_hidden = getattr(self, "hidden_organization_ids", set())
            if not cleaned.get("organizations") and not kept_hidden:
                self.add_error("organizations",
                               "Choose at least one organization that you manage.")
        return cleaned


def search_contacts(queryset: QuerySet, term: str) -> QuerySet:
    """Contacts whose e-mail, key or name starts with `term`.

    Only prefix comparisons on the case-folded search columns and the e-mail,
    each of which has its own index, so the search stays fast on a million
    contacts (a `LIKE '%x%'` would read them all). "ann smi" matches Ann Smith
    as well as Smith Annette.
    """
    term = term.strip()
    if not term:
        return queryset
    folded = term.casefold()
    q = Q(key=term)
    if "@" in term:
        q |= Q(email__prefix=folded)
    else:
        words = folded.split()
        if len(words) == 1:
            q |= (Q(search_last_name__prefix=folded) | Q(search_first_name__prefix=folded)
                  | Q(email__prefix=folded))
        else:
            first, rest = words[0], " ".join(words[1:])
            last, lead = words[-1], " ".join(words[:-1])
            q |= Q(search_first_name__prefix=first, search_last_name__prefix=rest)
            q |= Q(search_first_name__prefix=lead, search_last_name__prefix=last)
            q |= Q(search_last_name__prefix=first, search_first_name__prefix=rest)
            q |= Q(search_last_name__prefix=folded)
    return queryset.filter(q)


@admin.register(Contact)
class ContactAdmin(ScopedModelAdmin):
    form = ContactForm
    inlines = [AddressInline]
    list_display = ["full_name_display", "email", "key", "phone", "source", "updated_at"]
    list_filter = ["source"]
    # Searching is done by `search_contacts`; a non-empty list turns on the
    # search box and the autocomplete endpoint.
    search_fields = ["search_last_name"]
    search_help_text = "Name, e-mail or key; matches the beginning (\"ann smi\", \"ann@\")."
    show_full_result_count = False
    list_per_page = 50
    autocomplete_fields = ["organizations", "customer_groups"]
    readonly_fields = ["id", "version", "created_at", "updated_at", "effective_groups_display",
                       "prices_link"]
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
        if obj is not None:
            fields = ["effective_groups_display"]
            if request.user.has_perm("pricing.view_pricerow"):
                fields.append("prices_link")
            fieldsets.insert(2, ("Groups and prices", {"fields": fields}))
        return fieldsets

    @admin.display(description="Effective customer groups")
    def effective_groups_display(self, obj: Contact) -> str:
        groups = effective_groups(obj)
        if not groups:
            return "None: this contact gets the prices for all customers."
        return format_html_join(
            mark_safe("<br>"), "<strong>{}</strong> — {}",
            ((eg.group.key, "; or ".join(eg.reasons)) for eg in groups),
        )

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
        # the filter only narrows the already scoped queryset.
        return lookup == "organizations__id__exact" or super().lookup_allowed(lookup, value, request)

    def get_search_results(self, request, queryset, search_term):
        return search_contacts(queryset, search_term), False

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

    def delete_model(self, request, obj: Contact) -> None:
        delete_contact(obj)

    def delete_queryset(self, request, queryset) -> None:
        for contact in queryset:
            delete_contact(contact)

    def save_related(self, request, form, formsets, change):
        hidden = getattr(form, "hidden_organization_ids", set())
        super().save_related(request, form, formsets, change)
        if hidden:
            # The form only knew the organizations the caller manages; keep
            # the memberships in the others as they were.
            form.instance.organizations.add(*hidden)
