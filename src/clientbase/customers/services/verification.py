"""Proving an e-mail address: a signed, expiring token that names the account
and the address it was sent to, and the message that carries it.

The doors build the link around the token (the storefront's page, or a
headless front end's own URL) and call `verify_email` when it comes back;
what a verified e-mail unlocks (guest orders placed with it) is
`mark_email_verified`'s business."""

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail

from clientbase.core.errors import Invalid
from clientbase.customers.models import Account
from clientbase.customers.services.accounts import mark_email_verified

_SALT = "clientbase.customers.email-verification"


def verification_token(account: Account) -> str:
    """A URL-safe token for `account` and its current e-mail."""
    return signing.dumps({"account": str(account.pk), "email": account.email}, salt=_SALT, compress=True)


def verify_email(token: str) -> Account:
    """The account whose e-mail `token` proves, now verified.

    Invalid (422, `invalid_token`) for a token that was tampered with, is
    older than EMAIL_VERIFICATION_DAYS, or names an account that is gone;
    Conflict (409, `email_changed`) when the account's e-mail changed since
    the token was sent."""
    max_age = settings.EMAIL_VERIFICATION_DAYS * 86400
    try:
        claim = signing.loads(token or "", salt=_SALT, max_age=max_age)
        account = Account.objects.get(pk=claim["account"], is_active=True)
    except (signing.BadSignature, Account.DoesNotExist, KeyError, TypeError, ValueError) as exc:
        raise Invalid.on("token", "This link is not valid or has expired; ask for a new one.",
                         code="invalid_token") from exc
    return mark_email_verified(account, email=claim["email"])


def send_verification_email(account: Account, link: str) -> None:
    """Send `account` the link that proves its e-mail (`link` holds the token)."""
    send_mail(
        subject="Confirm your e-mail address",
        message=(f"Hello,\n\nplease confirm that {account.email} is your e-mail address by opening this "
                 f"link within {settings.EMAIL_VERIFICATION_DAYS} days:\n\n{link}\n\n"
                 "If you did not register, you can ignore this message.\n"),
        from_email=None, recipient_list=[account.email])
