from django.db import models
from simple_history.models import HistoricalRecords

from clientbase.core.models import KeyField, TreeNode


class CustomerGroupQuerySet(models.QuerySet):
    def visible_to(self, account, level: str = "view") -> "CustomerGroupQuerySet":
        """Customer groups are shop-wide: any account allowed to view (or, at
        level manage, change) them sees them all; permissions decide."""
        return self


class CustomerGroup(TreeNode):
    """A tier or audience of customers (Customers > Gold, Silver, Bronze).

    Applied to contacts and to organizations; a member of Gold is also a member
    of Customers. Prices and segments refer to a group by its `key`.
    """

    key = KeyField(required=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    history = HistoricalRecords(excluded_fields=["path", "depth"])
    objects = CustomerGroupQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = "customer group"

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"
