from django.db import models
from simple_history.models import HistoricalRecords

from clientbase.core.models import BaseModel, KeyField, TreeNode
from clientbase.customers.models.visibility import GrantLevel, organization_scope


class OrganizationKind(models.TextChoices):
    ORGANIZATION = "organization", "Organization"
    UNIT = "unit", "Organization unit"


class OrganizationQuerySet(models.QuerySet):
    def visible_to(self, account, level: str = GrantLevel.VIEW) -> "OrganizationQuerySet":
        """The organizations `account` may see (or, with level=manage, change)."""
        scope = organization_scope(account, level)
        return self if scope.everything else self.filter(scope.q())


class Organization(TreeNode):
    """A company, department or unit; organizations form a tree through `parent`
    (Administration > EU Headquarters > EU Management)."""

    key = KeyField()
    name = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=20, choices=OrganizationKind.choices, default=OrganizationKind.ORGANIZATION
    )
    customer_groups = models.ManyToManyField(
        "customers.CustomerGroup", blank=True, related_name="organizations"
    )
    search_name = models.CharField(max_length=200, editable=False, default="")

    history = HistoricalRecords(
        excluded_fields=["path", "depth", "search_name"], m2m_fields=[customer_groups]
    )
    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ["search_name", "id"]
        indexes = [models.Index(fields=["search_name", "id"], name="org_name_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.search_name = self.name.casefold()
        if kwargs.get("update_fields") and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_name"}
        super().save(*args, **kwargs)


class GrantQuerySet(models.QuerySet):
    def visible_to(self, account, level: str = GrantLevel.VIEW) -> "GrantQuerySet":
        """Grants on organizations that `account` may see (level=manage: may
        manage, which a change of the grant needs)."""
        return self.filter(organization__in=Organization.objects.visible_to(account, level))


class Grant(BaseModel):
    """Lets a role, or one account, see (or manage) an organization and,
    with `include_descendants`, everything below it."""

    role = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="grants")
    include_descendants = models.BooleanField(default=True)
    level = models.CharField(max_length=10, choices=GrantLevel.choices, default=GrantLevel.VIEW)

    history = HistoricalRecords()
    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(role__isnull=False, account__isnull=True)
                           | models.Q(role__isnull=True, account__isnull=False)),
                name="grant_role_xor_account",
            ),
            models.UniqueConstraint(
                fields=["role", "organization"], condition=models.Q(role__isnull=False),
                name="grant_unique_role_org",
            ),
            models.UniqueConstraint(
                fields=["account", "organization"], condition=models.Q(account__isnull=False),
                name="grant_unique_account_org",
            ),
        ]

    def __str__(self) -> str:
        holder = self.role.name if self.role_id else str(self.account)
        scope = " and below" if self.include_descendants else ""
        return f"{holder}: {self.level} {self.organization}{scope}"
