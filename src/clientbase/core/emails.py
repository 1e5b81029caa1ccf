"""E-mail addresses as the application stores and compares them."""

from django.utils.encoding import punycode


def canonical_email(value: str | None) -> str:
    """`value` trimmed and in lower case, its domain in IDNA's ASCII form
    (punycode): `U@Exämple.com` → `u@xn--exmple-cua.com`.

    One address has two spellings when its domain is international; storing
    the ASCII one (what DNS and mail servers use, and what Django's e-mail
    validator checks) makes both one address, so that a unique e-mail stays
    unique. The local part is only lower-cased: what it means is the mail
    server's business. A domain that IDNA cannot encode is left as typed, for
    the validator to refuse."""
    email = (value or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if at and domain and not domain.isascii():
        try:
            email = f"{local}@{punycode(domain)}"
        except UnicodeError:
            pass
    return email
