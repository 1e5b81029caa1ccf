"""The storefront's forms. They check the shape of the input (a whole
number, a choice from the list); the rules — which quantity, which address,
which password — are the services', whose refusals come back as form errors
(pages.add_errors)."""

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.urls import reverse

from clientbase.core.countries import country_choices
from clientbase.core.emails import canonical_email
from clientbase.customers.services.accounts import reset_password
from clientbase.customers.services.invitations import send_password_reset_email


def _quantity_field(minimum: int) -> forms.IntegerField:
    return forms.IntegerField(
        min_value=minimum, max_value=settings.CART_MAX_QUANTITY,
        error_messages={"invalid": "Enter a whole number.",
                        "min_value": f"Enter a quantity from {minimum} to {settings.CART_MAX_QUANTITY}.",
                        "max_value": f"Enter a quantity from {minimum} to {settings.CART_MAX_QUANTITY}."})


class AddToCartForm(forms.Form):
    """A SKU and how many; never a price (the cart is priced by the resolver)."""

    sku = forms.CharField(max_length=100)
    next = forms.CharField(max_length=2000, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quantity"] = _quantity_field(1)


class CartLineForm(forms.Form):
    """A new quantity for one line: 0 removes it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quantity"] = _quantity_field(0)


class AddressForm(forms.Form):
    """A postal address as orders keep it. The country is chosen from a list
    (ISO codes behind the names), the market's own countries first."""

    first_name = forms.CharField(max_length=100, label="First name")
    last_name = forms.CharField(max_length=100, label="Last name")
    line1 = forms.CharField(max_length=200, label="Street and number")
    line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    postcode = forms.CharField(max_length=20, required=False, label="Postcode")
    city = forms.CharField(max_length=100, label="City")
    country = forms.ChoiceField(label="Country")

    def __init__(self, *args, countries: list[str] | tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", "Choose a country")] + country_choices(countries)


class SavedAddressForm(AddressForm):
    """One of a shopper's own addresses: an order's fields plus a label and
    the default flags. Names are optional here (the contact's own)."""

    name = forms.CharField(max_length=100, required=False, label="Label (e.g. Home, Office)")
    is_default_shipping = forms.BooleanField(required=False, label="My default shipping address")
    is_default_billing = forms.BooleanField(required=False, label="My default billing address")

    field_order = ["name", "first_name", "last_name", "line1", "line2", "postcode", "city", "country",
                   "is_default_shipping", "is_default_billing"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].required = False
        self.fields["last_name"].required = False


class CheckoutForm(forms.Form):
    """The e-mail (a guest's; a logged-in shopper's is its account's) and
    whether the billing address is the shipping address."""

    email = forms.EmailField(max_length=254, label="E-mail")
    billing_same = forms.BooleanField(required=False, initial=True,
                                      label="Billing address same as shipping address")

    def __init__(self, *args, guest: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not guest:
            del self.fields["email"]


class RegisterForm(forms.Form):
    first_name = forms.CharField(max_length=100, label="First name")
    last_name = forms.CharField(max_length=100, label="Last name")
    email = forms.EmailField(max_length=254, label="E-mail")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               strip=False, label="Password",
                               help_text="At least 8 characters, not too common, not all digits, "
                                         "not like your name or e-mail.")
    next = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)


class LoginForm(auth_forms.AuthenticationForm):
    """Django's log-in form (through authenticate(), so django-axes counts
    and locks attempts as it does on the back office's): one message for a
    wrong password, an unknown e-mail, an inactive account and a lock."""

    error_messages = {
        "invalid_login": "That e-mail and password do not match an account. Check them and try again, "
                         "or reset your password.",
        "inactive": "That e-mail and password do not match an account. Check them and try again, "
                    "or reset your password.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "E-mail"
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "type": "email"})


class ProfileForm(forms.Form):
    first_name = forms.CharField(max_length=100, required=False, label="First name")
    last_name = forms.CharField(max_length=100, required=False, label="Last name")
    phone = forms.CharField(max_length=16, required=False, label="Phone",
                            help_text="International format, e.g. +4930123456.")


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                                   strip=False, label="Current password")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               strip=False, label="New password")


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset request, finding the account by the e-mail as accounts
    store it (any spelling of one address finds it)."""

    def get_users(self, email):
        return super().get_users(canonical_email(email))

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        # The one reset message, which the back office's "send a password reset" sends too.
        path = reverse("storefront:password_reset_confirm", args=[context["uid"], context["token"]])
        send_password_reset_email(context["user"], f"{context['protocol']}://{context['domain']}{path}")


class SetPasswordForm(auth_forms.SetPasswordForm):
    """Django's new-password form, saved through the accounts service (its
    validators, its version and history)."""

    def save(self, commit=True):
        return reset_password(self.user, new_password=self.cleaned_data["new_password1"])


class CouponForm(forms.Form):
    coupon = forms.CharField(max_length=50, required=False, strip=True, label="Coupon code")
