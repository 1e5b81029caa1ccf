"""Registering, logging in and out, proving the e-mail, resetting and
changing the password.

Log-in goes through Django's authenticate() (AuthenticationForm), so that
django-axes counts and locks storefront attempts as it does the back
office's, and login() rotates the session. At log-in (and registration) the
anonymous cart joins the account's saved cart by CART_MERGE_POLICY; from the
next page on every price is the contact's.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clientbase.core.errors import Conflict, DomainError, TooManyRequests
from clientbase.customers.authentication import BACKEND
from clientbase.customers.services import accounts, verification
from clientbase.customers.throttling import check_rate, client_address
from clientbase.shopping import cookie
from clientbase.shopping.services import carts
from clientbase.storefront.forms import (
    LoginForm, PasswordChangeForm, PasswordResetForm, RegisterForm, SetPasswordForm,
)
from clientbase.storefront.pages import (
    add_errors, frame_context, is_shopper, page_storefront, render_page, safe_next, shopper_required,
)


def _merge_cart(request: HttpRequest, response: HttpResponse) -> None:
    """The anonymous cart (from the cookie) joins the account's saved cart
    by CART_MERGE_POLICY, and the cookie goes: the account's cart is found
    through the account from now on. A saved cart from another visit moves
    to the market and currency the visitor shops in now, as the selector
    shows them."""
    anonymous = carts.find_cart(cookie.cart_id_from(request))
    cart = carts.merge_carts(anonymous, request.user)
    storefront = page_storefront(request)
    if cart is not None and storefront is not None and \
            (cart.market_id, cart.currency) != (storefront.market.pk, storefront.currency):
        carts.switch_market(cart, market=storefront.market, currency=storefront.currency)
    if cookie.cookie_name() in request.COOKIES:
        cookie.forget_cart(response)


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render_page(request, template, {"storefront": page_storefront(request), **context}, status=status)


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Registration: a contact and its account, logged in at once, the cart
    kept, and a link sent to prove the e-mail. Attempts are limited per
    client address (REGISTRATION_RATE), so that the "already registered"
    answer cannot be used to test e-mails at scale."""
    if is_shopper(request):
        return HttpResponseRedirect(reverse("storefront:account"))
    form = RegisterForm(request.POST or None, initial={"next": request.GET.get("next", "")})
    duplicate, status = False, 400 if form.is_bound else 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            check_rate("register", client_address(request), settings.REGISTRATION_RATE)
            _contact, account = accounts.register(data["email"], data["password"], first_name=data["first_name"],
                                                  last_name=data["last_name"])
        except TooManyRequests as error:
            form.add_error(None, error.detail)
            status = 429
        except DomainError as error:
            duplicate = isinstance(error, Conflict) and error.code == "duplicate_email"
            add_errors(form, error)
        else:
            login(request, account, backend=BACKEND)  # no authenticate() ran
            response = HttpResponseRedirect(safe_next(request, data["next"], reverse("storefront:account")))
            _merge_cart(request, response)
            _send_verification(request, account)
            messages.success(request, f"Welcome! We sent a link to {account.email}: open it to confirm "
                                      "your e-mail address.")
            return response
    return _page(request, "storefront/register.html", {"form": form, "duplicate": duplicate}, status=status)


@require_http_methods(["GET", "POST"])
def log_in(request: HttpRequest) -> HttpResponse:
    """Log in with e-mail and password; back to `next` (a page of this site)."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        response = HttpResponseRedirect(safe_next(request, next_url, reverse("storefront:account")))
        _merge_cart(request, response)
        messages.success(request, "You are logged in; the prices shown are yours.")
        return response
    return _page(request, "storefront/login.html", {"form": form, "next": next_url},
                 status=400 if form.is_bound else 200)


@require_POST
def log_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are logged out.")
    return HttpResponseRedirect(reverse("storefront:home"))


@require_GET
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the verification mail."""
    try:
        account = verification.verify_email(token)
    except DomainError as error:
        return _page(request, "storefront/verified.html", {"error": error.detail}, status=400)
    return _page(request, "storefront/verified.html", {"email": account.email})


@shopper_required
@require_POST
def resend_verification(request: HttpRequest) -> HttpResponse:
    """Mail the link that confirms the e-mail again (at most
    PASSWORD_RESET_RATE a client address: a mail to a real inbox each time)."""
    account = request.user
    if account.email_verified_at is not None:
        messages.info(request, "Your e-mail address is already confirmed.")
    else:
        try:
            check_rate("verification", client_address(request), settings.PASSWORD_RESET_RATE)
        except TooManyRequests as error:
            messages.error(request, error.detail)
        else:
            _send_verification(request, account)
            messages.success(request, f"We sent a new link to {account.email}.")
    return HttpResponseRedirect(reverse("storefront:account"))


def _send_verification(request: HttpRequest, account) -> None:
    link = request.build_absolute_uri(
        reverse("storefront:verify_email", args=[verification.verification_token(account)]))
    verification.send_verification_email(account, link)


@shopper_required
@require_http_methods(["GET", "POST"])
def change_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = accounts.change_own_password(request.user, old_password=form.cleaned_data["old_password"],
                                                   new_password=form.cleaned_data["password"])
        except DomainError as error:
            add_errors(form, error)
        else:
            update_session_auth_hash(request, account)  # this session stays; the others end
            messages.success(request, "Your password is changed.")
            return HttpResponseRedirect(reverse("storefront:account"))
    return _page(request, "storefront/password_change.html", {"form": form},
                 status=400 if form.is_bound else 200)


# --- password reset by e-mail: Django's views, the shop's templates -----------

class _ShopFrame:
    """Django's auth views, in the shop's page frame."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        return frame_context(self.request, {**context, "storefront": page_storefront(self.request)})


class PasswordResetView(_ShopFrame, auth_views.PasswordResetView):
    """Ask for a reset link. The answer is the same for known and unknown
    e-mails; requests are limited per client address (PASSWORD_RESET_RATE),
    so that nobody floods an inbox."""

    template_name = "storefront/password_reset.html"
    form_class = PasswordResetForm
    success_url = reverse_lazy("storefront:password_reset_done")

    def form_valid(self, form):
        try:
            check_rate("password_reset", client_address(self.request), settings.PASSWORD_RESET_RATE)
        except TooManyRequests as error:
            form.add_error(None, error.detail)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


class PasswordResetDoneView(_ShopFrame, auth_views.PasswordResetDoneView):
    template_name = "storefront/password_reset_done.html"


class PasswordResetConfirmView(_ShopFrame, auth_views.PasswordResetConfirmView):
    template_name = "storefront/password_reset_confirm.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("storefront:password_reset_complete")


class PasswordResetCompleteView(_ShopFrame, auth_views.PasswordResetCompleteView):
    template_name = "storefront/password_reset_complete.html"
