"""What staff do to a contact's login from the contact's page: invite a
contact without an account to make one, deactivate and reactivate its
account, send it a password reset.

Every link here carries Django's password-reset token
(`default_token_generator`, valid PASSWORD_RESET_TIMEOUT seconds) with the
account's id in base 64 — the storefront's "forgot password" scheme, not a
second one. The token hashes the password, so it stops working once a
password is set: an invitation link opens once. The doors build the link
around the two parts (`link(uidb64, token)`), as they do for the e-mail
verification link.

An invitation makes the account at once, inactive and without a password,
with the roles a registration gives; accepting it sets the password,
activates the account and marks its e-mail verified (the link was read in
that inbox).
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from clientbase.core.errors import Conflict, Invalid
from clientbase.customers.models import Account, Contact, Role
from clientbase.customers.services.accounts import (
    check_password, create_account, lock_account, update_account,
)

# Builds the storefront URL that carries (uidb64, token).
LinkBuilder = Callable[[str, str], str]

INVALID_INVITATION = ("This invitation link does not work any more: it was used already or it expired. "
                      "Ask the shop for a new one.")


def link_parts(account: Account) -> tuple[str, str]:
    """The account's id in base 64 and a fresh password-reset token for it."""
    return urlsafe_base64_encode(force_bytes(account.pk)), default_token_generator.make_token(account)


def _link_days() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)


def is_pending_invitation(account: Account) -> bool:
    """An account made by an invitation that nobody accepted yet."""
    return not account.is_active and not account.has_usable_password()


def _account_of(contact: Contact) -> Account:
    account = Account.objects.filter(contact=contact).first()
    if account is None:
        raise Conflict.on("account", f"{contact} has no account; invite the contact to make one.",
                          code="no_account")
    return account


def _check_no_open_invitation(account: Account, contact: Contact) -> None:
    if is_pending_invitation(account):
        raise Conflict.on("account", f"{contact} has not accepted the invitation yet; send it again "
                                     "instead.", code="invitation_open")


@transaction.atomic
def invite_contact(contact: Contact, *, actor, link: LinkBuilder) -> Account:
    """Make `contact`'s account (inactive, no password, role Registered) and
    mail it a link to set its password. Inviting again while the invitation
    is open sends a new link. Returns the account.

    Raises Invalid (422) when the contact has no e-mail or `actor` does not
    manage it; Forbidden (403) without `customers.add_account` (or, for a
    new link, `customers.change_account`); Conflict (409) when the contact
    already has an account of its own, or another account has its e-mail.
    """
    if not contact.email:
        raise Invalid.on("email", f"{contact} has no e-mail address to send the invitation to.",
                         code="no_email")
    account = Account.objects.filter(contact=contact).first()
    if account is None:
        account = create_account(actor=actor, email=contact.email, roles=[Role.REGISTERED],
                                 contact=contact, is_active=False)
    elif is_pending_invitation(account):
        account = lock_account(account, actor, "customers.change_account", expected_version=None)
    else:
        raise Conflict.on("account", f"{contact} already has an account ({account.email}).",
                          code="contact_has_account")
    send_invitation_email(account, contact, link(*link_parts(account)))
    return account


def invited_account(uidb64: str, token: str) -> Account | None:
    """The account a still-valid invitation link names, else None."""
    try:
        pk = force_str(urlsafe_base64_decode(uidb64 or ""))
        account = Account.objects.filter(pk=pk, is_active=False).select_related("contact").first()
    except (TypeError, ValueError, OverflowError, ValidationError):  # not an id: no account
        return None
    if account is None or account.has_usable_password() or \
            not default_token_generator.check_token(account, token):
        return None
    return account


@transaction.atomic
def accept_invitation(uidb64: str, token: str, *, password: str) -> Account:
    """The invited person sets its password: the account becomes active and
    its e-mail verified, and the link stops working. Returns the account.

    Raises Invalid (422) on `token` for a link that was used, expired or
    tampered with, on `password` with every validator message."""
    account = invited_account(uidb64, token)
    if account is not None:
        # Locked and asked again: of two tabs accepting at once, one wins.
        account = Account.objects.select_for_update().filter(pk=account.pk).first()
    if account is None or not default_token_generator.check_token(account, token) \
            or account.has_usable_password() or account.is_active:
        raise Invalid.on("token", INVALID_INVITATION, code="invalid_token")
    check_password(password, account)
    account.set_password(password)
    account.is_active = True
    account.email_verified_at = account.email_verified_at or timezone.now()
    account.save()
    return account


@transaction.atomic
def set_account_active(contact: Contact, *, actor, active: bool) -> Account:
    """Deactivate (`active` False) or reactivate the contact's account. An
    inactive account logs in nowhere, and its API tokens and sessions stop
    working. Returns the account.

    Raises Conflict (409) when the contact has no account, the account is
    already so, an invitation is still open (reactivating: send it again
    instead) or `actor` deactivates itself; Forbidden (403) without
    `customers.change_account`, outside `actor`'s manage scope, or for an
    account holding more than `actor` may hand out (see update_account).
    """
    account = _account_of(contact)
    if active:
        _check_no_open_invitation(account, contact)
    if account.is_active == active:
        state = "active" if active else "inactive"
        raise Conflict.on("account", f"The account {account.email} is already {state}.", code="unchanged")
    return update_account(account, actor=actor, changes={"is_active": active})


@transaction.atomic
def send_password_reset(contact: Contact, *, actor, link: LinkBuilder) -> Account:
    """Mail the contact's account the storefront's password-reset message.
    Returns the account.

    Raises Conflict (409) when the contact has no account, it is inactive or
    its invitation is still open; Forbidden (403) as `set_account_active`.
    """
    account = lock_account(_account_of(contact), actor, "customers.change_account", expected_version=None)
    _check_no_open_invitation(account, contact)
    if not account.is_active:
        raise Conflict.on("account", f"The account {account.email} is inactive; reactivate it first.",
                          code="inactive")
    send_password_reset_email(account, link(*link_parts(account)))
    return account


def send_password_reset_email(account: Account, link: str) -> None:
    """The password-reset message (the storefront's "forgot password" sends
    this one too)."""
    shop = settings.STOREFRONT_NAME
    send_mail(f"Reset your password at {shop}",
              f"Hello,\n\nsomeone (we hope you) asked to reset the password of the account {account.email} "
              f"at {shop}. Choose a new password here:\n\n{link}\n\n"
              "If you did not ask for it, ignore this message: your password stays as it is.\n",
              None, [account.email])


def send_invitation_email(account: Account, contact: Contact, link: str) -> None:
    shop = settings.STOREFRONT_NAME
    greeting = f"Hello {contact.first_name}," if contact.first_name else "Hello,"
    send_mail(f"Your account at {shop}",
              f"{greeting}\n\nyou are invited to make your account at {shop} with the e-mail "
              f"{account.email}. Choose your password here within {_link_days()} days:\n\n{link}\n\n"
              "The link works once. If you did not expect this message, you can ignore it.\n",
              None, [account.email])
