"""Who is calling: a session cookie (browser, with CSRF) or a personal token."""

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth
from ninja.utils import check_csrf

from clientbase.core.errors import Forbidden
from clientbase.customers.services.principals import account_for_token


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`: acts as the token's account.

    `with_access`: read the account's roles, permissions and grants with it
    (customers.services.principals), as the staff doors ask for them on
    every request. The shop's doors seldom do: without it they are read on
    demand, and a shopper's request reads none of them."""

    def __init__(self, *, with_access: bool = True):
        super().__init__()
        self.with_access = with_access

    def authenticate(self, request: HttpRequest, token: str):
        account = account_for_token(token, with_access=self.with_access)
        if account is None:
            return None
        request.user = account
        return account


class ActiveSessionAuth(SessionAuth):
    def _get_key(self, request: HttpRequest):
        # Without a session cookie there is no session to ride on, so nothing
        # for CSRF to protect: let the caller get 401 (not a CSRF 403).
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


staff_auth = [TokenAuth(), ActiveSessionAuth()]


def anonymous_visitor(request: HttpRequest):
    """The store's last resort after a token and a session: an anonymous
    visitor, who sees what anyone sees. A request that sent credentials which
    matched nothing (a revoked token) is still refused (401): it meant to be
    someone, and answering as nobody would hide the mistake."""
    if request.headers.get("Authorization"):
        return None
    request.user = AnonymousUser()
    return request.user


# The shop's doors (/api/v1/store): anybody, and a logged-in shopper's own prices.
visitor_auth = [TokenAuth(with_access=False), ActiveSessionAuth(), anonymous_visitor]


CSRF_REFUSED = ("Send the csrftoken cookie's value as the X-CSRFToken header "
                "(GET /api/v1/me/csrf sets the cookie and answers the token).")


def shopper_session(request: HttpRequest):
    """/api/v1/me's caller after a token: the visitor on the session cookie,
    logged in or anonymous (AnonymousUser). Unlike the staff doors, an
    anonymous visitor may write here (a cart, a log-in, a registration), so
    every unsafe request of a session or anonymous caller must carry the CSRF
    token, with or without a session cookie: a 403 problem otherwise. A
    token caller (TokenAuth, before this) needs none: a browser never sends
    the header by itself. A request that sent credentials matching nothing
    is refused (401), as at the store."""
    if request.headers.get("Authorization"):
        return None
    if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and check_csrf(request):
        raise Forbidden(detail=CSRF_REFUSED, code="csrf_failed")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        request.user = AnonymousUser()
    return request.user


# The shopper's door (/api/v1/me): a token's account, or the session's visitor.
shopper_auth = [TokenAuth(with_access=False), shopper_session]
