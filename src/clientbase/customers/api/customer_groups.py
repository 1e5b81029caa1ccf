"""/api/v1/customer-groups (to be written)."""

from ninja import Router

router = Router(tags=["customer-groups"])
