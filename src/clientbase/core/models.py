"""Building blocks shared by every domain: ids, keys, versions and trees."""

import re
import uuid

from django.core.exceptions import ValidationError
from django.db import models, transaction

from clientbase.core.trees import lock_tree, path_for

KEY_MAX_LENGTH = 100
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
_KEY_RE = re.compile(KEY_PATTERN)


def looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def validate_key(value: str) -> None:
    """A key is an external code such as `EU-MGMT`: letters, digits, `-_.:`.

    A key may never parse as a UUID, so that "id or key" is never ambiguous.
    """
    if not _KEY_RE.match(value):
        raise ValidationError(
            "A key starts with a letter or digit and holds only letters, digits and - _ . :",
            code="invalid_key",
        )
    if looks_like_uuid(value):
        raise ValidationError("A key may not look like a UUID.", code="invalid_key")


class KeyField(models.CharField):
    def __init__(self, *args, required: bool = False, **kwargs):
        kwargs.setdefault("max_length", KEY_MAX_LENGTH)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("validators", [validate_key])
        if not required:
            kwargs.setdefault("null", True)
            kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        # Migrations see a plain CharField; the validator is applied by the model.
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("validators", None)
        return name, "django.db.models.CharField", args, kwargs

    def clone(self):
        # clone() rebuilds the field from deconstruct(), which leaves out the
        # CharField defaults; __init__ would then default them back to a
        # unique, nullable key. Spell them out, so that simple-history's copy
        # (unique=False) and a required key (null=False) survive the round trip.
        name, path, args, kwargs = self.deconstruct()
        kwargs.update(unique=self._unique, null=self.null, blank=self.blank)
        return self.__class__(*args, **kwargs)


class BaseModel(models.Model):
    """A business object: UUID id, optimistic-concurrency `version`, timestamps."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # Every saved change bumps the version; a brand-new row starts at 1.
        if not self._state.adding:
            self.version = (self.version or 0) + 1
            if update_fields := kwargs.get("update_fields"):
                kwargs["update_fields"] = {*update_fields, "version", "updated_at"}
        super().save(*args, **kwargs)

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


# Materialized paths: every node stores the ids of its ancestors and itself as
# 32-hex-digit segments, each followed by "/". The subtree of a node is then the
# half-open range [path, path + "~"), because "~" sorts after every hex digit
# and "/"; a plain B-tree index answers it on SQLite and PostgreSQL alike, and a
# move rewrites a whole subtree with one UPDATE.
PATH_SEGMENT = 33
MAX_TREE_DEPTH = 30


def ids_in_path(path: str) -> list[uuid.UUID]:
    """The ids of a node's ancestors, root first, followed by the node's own id."""
    return [uuid.UUID(part) for part in path.split("/") if part]


def subtree_q(path: str, field: str = "path") -> models.Q:
    return models.Q(**{f"{field}__gte": path, f"{field}__lt": path + "~"})


class TreeNode(BaseModel):
    """A node of a tree kept as a materialized path (see `path_for`).

    Only services may change `parent`, so that `path` and `depth` stay right:
    use `clientbase.customers.services.trees.move_node`.
    """

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=PATH_SEGMENT * MAX_TREE_DEPTH, editable=False, db_index=True)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.path:
            super().save(*args, **kwargs)
            return
        # A new node's path is its parent's path plus its own id: read the
        # parent's path under the tree's lock, in the same transaction as the
        # insert, so that a parent moving meanwhile cannot leave it stale.
        with transaction.atomic(using=kwargs.get("using")):
            parent_path = ""
            if self.parent_id:
                lock_tree(type(self))
                parent_path = type(self)._default_manager.filter(pk=self.parent_id).values_list(
                    "path", flat=True).get()
            self.path = path_for(self.id, parent_path)
            self.depth = self.path.count("/") - 1
            super().save(*args, **kwargs)

    def is_descendant_of(self, other: "TreeNode") -> bool:
        return self.path.startswith(other.path) and self.path != other.path

    def subtree(self):
        return type(self)._default_manager.filter(subtree_q(self.path))
