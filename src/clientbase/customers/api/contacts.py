"""/api/v1/contacts (to be written)."""

from ninja import Router

router = Router(tags=["contacts"])
