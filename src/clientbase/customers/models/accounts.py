import hashlib
import secrets
import uuid
from collections.abc import Callable

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import Group, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history import register as register_history
from simple_history.models import HistoricalRecords

from clientbase.core.emails import canonical_email
from clientbase.core.models import BaseModel
from clientbase.customers.models.contacts import Contact


class Role(models.TextChoices):
    """The roles every installation has. Roles are Django groups."""

    EVERYONE = "Everyone"
    REGISTERED = "Registered"
    ADMINISTRATORS = "Administrators"
    CUSTOMER_SERVICE = "CustomerServiceRepresentatives"
    CATALOG_MANAGERS = "CatalogManagers"
    MARKETING_MANAGERS = "MarketingManagers"


class AccountQuerySet(models.QuerySet):
    def visible_to(self, account, level: str = "view") -> "AccountQuerySet":
        """The accounts `account` may see: every one for an administrator;
        otherwise those whose contact it may see (level=manage: may change),
        plus its own. Anonymous callers see none."""
        if account is None or not account.is_authenticated or not account.is_active:
            return self.none()
        if account.sees_everything:
            return self
        contacts = Contact.objects.visible_to(account, level)
        return self.filter(models.Q(pk=account.pk) | models.Q(contact__in=contacts.values("pk")))


class AccountManager(BaseUserManager.from_queryset(AccountQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email__iexact=canonical_email(email))

    def _create(self, email: str, password: str | None, roles: list[str], **fields) -> "Account":
        if not email:
            raise ValueError("An account needs an e-mail address.")
        account = self.model(email=canonical_email(email), **fields)
        account.set_password(password)
        account.save(using=self._db)
        account.groups.add(*Group.objects.filter(name__in=[Role.EVERYONE, *roles]))
        return account

    def create_user(self, email: str, password: str | None = None, **fields) -> "Account":
        roles = fields.pop("roles", [])
        fields.setdefault("is_superuser", False)
        return self._create(email, password, roles, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "Account":
        fields["is_superuser"] = True
        fields.pop("is_staff", None)
        return self._create(email, password, [Role.ADMINISTRATORS], **fields)


class Account(AbstractBaseUser, PermissionsMixin):
    """A login: an e-mail address and a password, with roles (Django groups).

    Every account has the role Everyone; one made by public registration also
    has Registered and belongs to a contact.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    contact = models.OneToOneField(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="account",
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    email_verified_at = models.DateTimeField(
        null=True, blank=True, editable=False,
        help_text="When the owner proved the e-mail is theirs (None: not verified). "
                  "Changing the e-mail clears it.")
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["password", "last_login"], m2m_fields=["groups"])
    objects = AccountManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="account_email_unique_ci")]
        permissions = [("access_backoffice", "Can use the back office")]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = canonical_email(self.email)
        if not self._state.adding:
            self.version += 1
        super().save(*args, **kwargs)

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def remember_session_check(self, session_auth_hash: str, password_usable: bool) -> None:
        """What `get_session_auth_hash` and `has_usable_password` answer for
        an account read without its password hash (customers.services.
        principals): Django checks every session's request against the
        former. Good while the hash stays unread: once it is loaded or set
        (set_password), they answer from it, as Django's do."""
        self.__dict__["_session_check"] = (session_auth_hash, password_usable)

    def _remembered_session_check(self) -> tuple[str, bool] | None:
        return None if "password" in self.__dict__ else self.__dict__.get("_session_check")

    def get_session_auth_hash(self) -> str:
        known = self._remembered_session_check()
        return known[0] if known is not None else super().get_session_auth_hash()

    def has_usable_password(self) -> bool:
        known = self._remembered_session_check()
        return known[1] if known is not None else super().has_usable_password()

    def read_access_later(self, load: Callable[["Account"], None]) -> None:
        """Have `load(self)` fill in the account's role names, permissions and
        organization scopes when one of them is first asked for
        (`load_access`): a session's account is read without them
        (customers.services.principals), as many of the shop's pages never
        ask."""
        self.__dict__["_access_loader"] = load

    def load_access(self) -> None:
        """Run the loader given to `read_access_later`, once; nothing when
        there is none (then what is asked for is read the ORM's way)."""
        load = self.__dict__.pop("_access_loader", None)
        if load is not None:
            load(self)

    @property
    def is_staff(self) -> bool:
        """May use the back office (Django's admin asks this)."""
        return self.is_active and (self.is_superuser or self.has_perm("customers.access_backoffice"))

    @property
    def role_names(self) -> set[str]:
        self.load_access()
        if not hasattr(self, "_role_names"):
            self._role_names = set(self.groups.values_list("name", flat=True))
        return self._role_names

    @property
    def sees_everything(self) -> bool:
        """Administrators see every organization, contact and account."""
        return self.is_active and (self.is_superuser or Role.ADMINISTRATORS in self.role_names)


class RoleVersion(models.Model):
    """The optimistic-concurrency version of a role (a Django group, which
    has no column for it): bumped by every rename and permission change, so
    that a write with a stale If-Match gets 412 like any other object."""

    role = models.OneToOneField(Group, primary_key=True, on_delete=models.CASCADE,
                                related_name="version_row")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = "role"

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @classmethod
    def of(cls, role: Group, *, lock: bool = False) -> "RoleVersion":
        """The role's version row, made on first use (roles created before it
        existed, or by Django itself, have none)."""
        rows = cls.objects.select_for_update() if lock else cls.objects
        row, _ = rows.get_or_create(role=role)
        return row

    @classmethod
    def bump(cls, role: Group) -> None:
        cls.of(role)
        cls.objects.filter(role=role).update(version=models.F("version") + 1)


# Roles are Django's groups; record who renamed them or changed their permissions.
register_history(Group, app="clientbase.customers", m2m_fields=["permissions"])


TOKEN_PREFIX = "cb_"


def hash_token(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough: there is
    # nothing to brute-force, and lookups stay a single indexed equality.
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def visible_to(self, account, level: str = "view") -> "ApiTokenQuerySet":
        """The tokens `account` may see: its own; with `view_apitoken`, also
        those of the accounts it sees (level=manage: may change)."""
        if account is None or not account.is_authenticated or not account.is_active:
            return self.none()
        if account.sees_everything:
            return self
        own = models.Q(account=account)
        if not account.has_perm("customers.view_apitoken"):
            return self.filter(own)
        return self.filter(own | models.Q(account__in=Account.objects.visible_to(account, level).values("pk")))

    def active(self) -> "ApiTokenQuerySet":
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(BaseModel):
    """A personal API token. Only its SHA-256 is stored; it acts as its account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=16, editable=False, help_text="The first characters.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.hint}… ({self.name or 'unnamed'})"

    @classmethod
    def issue(cls, account: Account, name: str = "", expires_at=None) -> tuple["ApiToken", str]:
        """Create a token; returns it and the raw secret, which is shown only once."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            account=account, name=name, token_hash=hash_token(raw), hint=raw[:10],
            expires_at=expires_at,
        )
        return token, raw

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())
