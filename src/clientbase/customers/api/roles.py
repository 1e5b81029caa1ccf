"""/api/v1/roles (to be written)."""

from ninja import Router

router = Router(tags=["roles"])
