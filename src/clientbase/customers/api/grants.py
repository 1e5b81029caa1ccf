"""/api/v1/grants (to be written)."""

from ninja import Router

router = Router(tags=["grants"])
