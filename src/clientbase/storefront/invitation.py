"""The page an invitation mail links to: the invited contact chooses its
password, which makes its account active (customers.services.invitations)."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from clientbase.core.errors import DomainError
from clientbase.customers.services import invitations
from clientbase.storefront.pages import add_errors, page_storefront, render_page


class AcceptInvitationForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               strip=False, label="Password",
                               help_text="At least 8 characters, not too common, not all digits, "
                                         "not like your name or e-mail.")
    password_again = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                     strip=False, label="The password again")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password_again") and \
                cleaned["password"] != cleaned["password_again"]:
            self.add_error("password_again", "The two passwords differ.")
        return cleaned


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    account = invitations.invited_account(uidb64, token)
    if account is None:
        return render_page(request, "storefront/invitation.html",
                           {"storefront": page_storefront(request), "error": invitations.INVALID_INVITATION},
                           status=400)
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = invitations.accept_invitation(uidb64, token, password=form.cleaned_data["password"])
        except DomainError as error:
            add_errors(form, error)
        else:
            messages.success(request, f"Your account {account.email} is ready: log in with your new password.")
            return HttpResponseRedirect(reverse("storefront:login"))
    return render_page(request, "storefront/invitation.html",
                       {"storefront": page_storefront(request), "form": form, "email": account.email},
                       status=400 if form.is_bound else 200)
