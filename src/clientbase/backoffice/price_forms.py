"""Back-office forms for prices: a price row checked by the pricing service,
and the price preview ("what would this contact pay?")."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.urls import reverse_lazy
from unfold.widgets import (
    UnfoldAdminAutocompleteWidget,
    UnfoldAdminDecimalFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
)

from clientbase.catalog.models import Market
from clientbase.core.errors import DomainError
from clientbase.core.models import looks_like_uuid
from clientbase.customers.models import Contact
from clientbase.pricing.models import PriceRow
from clientbase.pricing.services import normalize_price_row, validate_price_row

# Said of a contact that does not exist and of one the staff member may not
# see alike: the answer never tells which.
NO_SUCH_CONTACT = "No contact with this id, key or e-mail: not found, or not visible to you."


def add_domain_errors(form: forms.BaseForm, exc: DomainError) -> None:
    """Put a service's field errors on the form's fields (unknown fields: on
    the form as a whole), so the user sees each where they typed."""
    for error in exc.errors or []:
        form.add_error(error.field if error.field in form.fields else None, error.message)
    if not exc.errors:
        form.add_error(None, exc.detail)


class PriceRowForm(forms.ModelForm):
    """A price row, normalized and validated by pricing.services — the same
    rules as the API: the market's currency, a price of zero or more in the
    currency's precision, an ordered validity, a sale code that exists."""

    class Meta:
        model = PriceRow
        fields = ["variant", "product", "market", "currency", "sale_type", "sale_code",
                  "min_quantity", "unit_price", "valid_from", "valid_until"]
        help_texts = {
            "variant": "The SKU this price is for. Leave empty for a product-level price.",
            "product": "Or a product: the price then applies to each of its variants that has no "
                       "price of its own in this market and currency.",
            "currency": "One of the market's currencies; empty: the market's default.",
            "min_quantity": "The price applies from this quantity on (a quantity break).",
        }

    # Set per request by PriceRowAdmin.get_form: a customer price may name
    # only a contact the staff member sees.
    request_user = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "currency" in self.fields:  # absent on a read-only page
            self.fields["currency"].required = False

    def clean(self) -> dict:
        cleaned = super().clean()
        market = cleaned.get("market")
        if market is None:
            return cleaned  # "market" already carries its error; every rule below needs it
        probe = PriceRow(
            pk=self.instance.pk, variant=cleaned.get("variant"), product=cleaned.get("product"),
            market=market, currency=cleaned.get("currency") or "",
            sale_type=cleaned.get("sale_type") or "", sale_code=cleaned.get("sale_code") or "",
            min_quantity=cleaned.get("min_quantity"), unit_price=cleaned.get("unit_price"),
            valid_from=cleaned.get("valid_from"), valid_until=cleaned.get("valid_until"),
        )
        normalize_price_row(probe)
        cleaned.update(currency=probe.currency, sale_code=probe.sale_code)
        try:
            validate_price_row(probe, actor=self.request_user or AnonymousUser())
        except DomainError as exc:
            for error in exc.errors:
                # A field that failed its own validation already says why.
                if error.field not in self.errors:
                    self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned


class MarketField(forms.ModelChoiceField):
    """A market by its key (?market=EU)."""

    def to_python(self, value):
        # PostgreSQL refuses NUL in a text comparison (a 500, not "no such
        # market"): such a key cannot exist, so it is simply not a choice.
        if isinstance(value, str) and "\x00" in value:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class PreviewForm(forms.Form):
    """What a visitor would pay: a market, a currency, a quantity and a
    contact (empty: an anonymous visitor).

    The contact is looked up among the contacts the staff member sees, by id
    or key (or a unique e-mail); any other answers NO_SUCH_CONTACT, exactly
    as if it did not exist.
    """

    market = MarketField(queryset=Market.objects.filter(is_active=True), to_field_name="key",
                                    empty_label=None, widget=UnfoldAdminSelectWidget)
    currency = forms.ChoiceField(required=False, widget=UnfoldAdminSelectWidget,
                                 help_text="Empty: the market's default currency.")
    quantity = forms.DecimalField(initial=Decimal(1), min_value=Decimal("0.01"), max_digits=12,
                                  decimal_places=2, widget=UnfoldAdminDecimalFieldWidget)
    contact = forms.CharField(
        required=False, max_length=254,
        widget=UnfoldAdminAutocompleteWidget(
            attrs={"data-ajax--url": reverse_lazy("admin:pricing_contact_autocomplete")}),
        help_text="Id, key or e-mail of a contact you can see; empty: an anonymous visitor.",
    )
    at = forms.DateTimeField(
        required=False, label="At",
        widget=UnfoldAdminTextInputWidget(attrs={"placeholder": "YYYY-MM-DD HH:MM"}),
        help_text="The moment to price at (UTC); empty: now.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        markets = list(self.fields["market"].queryset)
        currencies = sorted({c for m in markets for c in m.currencies})
        self.fields["currency"].choices = [("", "Market default")] + [(c, c) for c in currencies]
        if markets and not self.is_bound:
            self.fields["market"].initial = markets[0].key
        self._offer_chosen_contact()

    def visible_contacts(self) -> QuerySet:
        return Contact.objects.visible_to(self.user)

    def _offer_chosen_contact(self) -> None:
        # The autocomplete widget is a <select>: it must list the chosen
        # contact (and only it: all contacts would be a million options).
        widget = self.fields["contact"].widget
        raw = (self.data.get("contact") if self.is_bound else self.initial.get("contact")) or ""
        contact = find_contact(self.visible_contacts(), str(raw)) if raw else None
        widget.choices = [("", "Anonymous visitor")]
        if contact is not None:
            widget.choices.append((raw, contact_label(contact)))

    def clean_contact(self) -> Contact | None:
        raw = (self.cleaned_data.get("contact") or "").strip()
        if not raw:
            return None
        contact = find_contact(self.visible_contacts(), raw)
        if contact is None:
            raise ValidationError(NO_SUCH_CONTACT, code="not_found")
        return contact

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        market = cleaned.get("market")
        if market is not None:
            currency = cleaned.get("currency") or market.default_currency
            if currency not in market.currencies:
                self.add_error("currency", f"Market {market.key} sells in {', '.join(market.currencies)}, "
                                           f"not {currency}.")
            cleaned["currency"] = currency
        return cleaned


def find_contact(scope: QuerySet, ref: str) -> Contact | None:
    """The contact of `scope` with this id, key or (unique) e-mail, or None."""
    ref = ref.strip()
    if not ref or "\x00" in ref:  # PostgreSQL refuses NUL in text; no key holds one
        return None
    if looks_like_uuid(ref):
        return scope.filter(pk=ref).first()
    if "@" in ref:
        matches = list(scope.filter(email__iexact=ref)[:2])
        return matches[0] if len(matches) == 1 else None
    return scope.filter(key=ref).first()


def contact_label(contact: Contact) -> str:
    name = contact.full_name or "—"
    extra = contact.email or contact.key or ""
    return f"{name} ({extra})" if extra else name
