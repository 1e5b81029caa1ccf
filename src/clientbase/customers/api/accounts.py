"""/api/v1/accounts (to be written)."""

from ninja import Router

router = Router(tags=["accounts"])
