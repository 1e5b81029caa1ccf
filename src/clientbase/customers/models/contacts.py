import phonenumbers
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Concat, Lower
from simple_history.models import HistoricalRecords

from clientbase.core.models import BaseModel, KeyField, subtree_q
from clientbase.customers.models.visibility import MemberOfScope, OrganizationScope, contact_scope


def validate_e164(value: str) -> None:
    """Phone numbers are stored in E.164 form: `+` then up to 15 digits."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"Not a phone number in E.164 form (+4930123456): {exc}",
                              code="invalid_phone") from exc
    if not phonenumbers.is_possible_number(number) or (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) != value
    ):
        raise ValidationError("Not a phone number in E.164 form (+4930123456).",
                              code="invalid_phone")


class ContactSource(models.TextChoices):
    STOREFRONT = "storefront", "Storefront registration"
    BACK_OFFICE = "back_office", "Back office"
    IMPORT = "import", "Import"
    API = "api", "API"


class ContactQuerySet(models.QuerySet):
    def visible_to(self, account, level: str = "view") -> "ContactQuerySet":
        """The contacts `account` may see: those in an organization it sees, or
        all of them with `view_all_contacts` (level=manage: `manage_all_contacts`).
        One contact by id or key, by the same scope without building a
        queryset: customers.services.contact_reads.visible_contact."""
        return contact_scope(account, level).apply(self)

    def in_organization(self, organization, *, subtree: bool = False) -> "ContactQuerySet":
        """Members of `organization` or, with `subtree`, of it or any
        organization below it (by the materialized path: one EXISTS, a
        contact in two of them comes once). The caller has found
        `organization` among those it sees."""
        if not subtree:
            return self.filter(organizations=organization)
        return self.filter(MemberOfScope(OrganizationScope(subtree_paths=(organization.path,))))

    def effectively_in(self, group) -> "ContactQuerySet":
        """Contacts whose effective groups include `group`, by the rule of
        `customers.services.groups.effective_groups`: one of the contact's own
        groups, or a group of one of its organizations or of an ancestor of
        one, is `group` or below it in the group tree (a Gold member is in
        Customers). One filter of two EXISTS, whatever the depth of either
        tree; the back office's filter and the API's `effective_group` use it.
        """
        through = self.model.customer_groups.through
        groups = self.model.customer_groups.field.related_model.objects.filter(
            subtree_q(group.path)).values("pk")
        direct = through.objects.filter(contact_id=OuterRef("pk"), customergroup_id__in=groups)
        organization_model = self.model.organizations.field.related_model
        # An organization "carries" the group when it, or an ancestor, has a
        # group of the subtree: the carrier's path is a prefix of the member's.
        carriers = (organization_model.customer_groups.through.objects
                    .filter(customergroup_id__in=groups, organization__path__lte=OuterRef("organization__path"))
                    .annotate(subtree_end=Concat("organization__path", Value("~")))
                    .filter(subtree_end__gt=OuterRef("organization__path")))
        via_organization = self.model.organizations.through.objects.filter(
            Exists(carriers), contact_id=OuterRef("pk"))
        return self.filter(Exists(direct) | Exists(via_organization))

    def search(self, term: str) -> "ContactQuerySet":
        """Contacts whose key is `term`, or whose e-mail or name starts with it.

        Only prefix comparisons on the case-folded search columns and the
        e-mail, each with its own index, so the search stays fast on a million
        contacts (a `LIKE '%x%'` would read them all). Several words split
        between first and last name either way round: "ann smi" finds Ann
        Smith and Smith Annette, "anna maria schmidt" and "anna m" find Anna
        Maria Schmidt (a first name of two words).
        The API, the back office and every other door search through this.
        """
        term = (term or "").strip()
        if not term:
            return self
        folded = term.casefold()
        match = Q(key=term) | Q(email__prefix=term.lower())
        words = folded.split()
        if len(words) == 1:
            match |= Q(search_last_name__prefix=folded) | Q(search_first_name__prefix=folded)
        else:
            first, rest = words[0], " ".join(words[1:])
            lead, last = " ".join(words[:-1]), words[-1]
            match |= (Q(search_first_name__prefix=first, search_last_name__prefix=rest)
                      | Q(search_first_name__prefix=lead, search_last_name__prefix=last)
                      | Q(search_last_name__prefix=first, search_first_name__prefix=rest)
                      | Q(search_first_name__prefix=folded) | Q(search_last_name__prefix=folded))
        return self.filter(match)


class Contact(BaseModel):
    """A person the shop knows: a registered customer, or someone staff entered.

    At most one account logs in as a contact. Anonymous visitors are never
    contacts.
    """

    key = KeyField()
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254, null=True, blank=True)
    phone = models.CharField(max_length=16, blank=True, validators=[validate_e164])
    birth_date = models.DateField(null=True, blank=True)
    preferred_language = models.CharField(max_length=16, blank=True)
    preferred_currency = models.CharField(max_length=3, blank=True)
    source = models.CharField(
        max_length=20, choices=ContactSource.choices, default=ContactSource.BACK_OFFICE
    )
    organizations = models.ManyToManyField(
        "customers.Organization", blank=True, related_name="contacts"
    )
    customer_groups = models.ManyToManyField(
        "customers.CustomerGroup", blank=True, related_name="contacts"
    )
    # Case-folded copies of the names: the list order and the prefix search use
    # them, each with its own index (see Meta.indexes).
    search_first_name = models.CharField(max_length=100, editable=False, default="")
    search_last_name = models.CharField(max_length=100, editable=False, default="")
    # Set by the GDPR erasure (transfer.gdpr): the personal fields are gone
    # for good, and a second erasure is refused.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords(
        excluded_fields=["search_first_name", "search_last_name"],
        m2m_fields=[organizations, customer_groups],
    )
    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["search_last_name", "search_first_name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="contact_email_unique_ci"),
        ]
        indexes = [
            # The list order; keyset pagination walks it.
            models.Index(fields=["search_last_name", "search_first_name", "id"],
                         name="contact_name_order_idx"),
            # Prefix search (`LIKE 'abc%'`) on PostgreSQL whatever the collation.
            models.Index(fields=["search_first_name"], name="contact_first_prefix_idx",
                         opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["search_last_name"], name="contact_last_prefix_idx",
                         opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["email"], name="contact_email_prefix_idx",
                         opclasses=["varchar_pattern_ops"]),
            # Every column the `q` search filter reads, in list order: the page's
            # ids come from an index-only scan that skips non-matching names
            # without reading the table (Keyset(late_rows=True); measured in
            # docs/benchmarks.md).
            models.Index(fields=["search_last_name", "search_first_name", "id", "email", "key"],
                         name="contact_search_cover_idx"),
        ]
        permissions = [
            ("view_all_contacts", "Can view every contact, whatever the organization"),
            ("manage_all_contacts", "Can change every contact, whatever the organization"),
            ("export_personal_data", "Can export everything held about a contact (GDPR)"),
            ("erase_contact", "Can erase a contact's personal data (GDPR)"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or str(self.id)

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def sale_code(self) -> str:
        """The code customer-specific prices use: the key, or the id without one."""
        return self.key or str(self.id)

    def fill_derived_fields(self) -> None:
        """The search columns and the stored spelling of the e-mail, from the
        fields: save() calls it, and so do batch writes (bulk_create and
        bulk_update skip save())."""
        self.search_first_name = self.first_name.casefold()
        self.search_last_name = self.last_name.casefold()
        if self.email:
            self.email = self.email.strip().lower()
        else:
            self.email = None

    def save(self, *args, **kwargs):
        self.fill_derived_fields()
        if update_fields := kwargs.get("update_fields"):
            kwargs["update_fields"] = {*update_fields, "search_first_name", "search_last_name"}
        super().save(*args, **kwargs)


class Address(BaseModel):
    """A postal address of a contact or of an organization (never both)."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    organization = models.ForeignKey(
        "customers.Organization", null=True, blank=True, on_delete=models.CASCADE,
        related_name="addresses",
    )
    name = models.CharField(max_length=100, blank=True, help_text="A label such as 'Home'.")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=20, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. DE.")
    phone = models.CharField(max_length=16, blank=True, validators=[validate_e164])
    is_default_shipping = models.BooleanField(default=False)
    is_default_billing = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(contact__isnull=False, organization__isnull=True)
                           | models.Q(contact__isnull=True, organization__isnull=False)),
                name="address_has_one_owner",
            ),
        ]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return ", ".join(p for p in (self.line1, self.city, self.country) if p)
