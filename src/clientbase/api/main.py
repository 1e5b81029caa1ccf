"""The NinjaAPI behind /api/v1: authentication, problems, and each domain's router."""

from ninja import NinjaAPI

from clientbase.api import errors
from clientbase.api.auth import staff_auth

api = NinjaAPI(
    title="clientbase API",
    version="1",
    description=(
        "Customer management for online shops. Authenticate with a session cookie "
        "(plus the X-CSRFToken header on writes) or with `Authorization: Bearer <token>`. "
        "Errors are RFC 9457 problems (application/problem+json). Every id parameter "
        "also accepts the object's key."
    ),
    urls_namespace="api-v1",
    auth=staff_auth,
    openapi_url="/openapi.json",
    docs_url="/docs",
)
errors.install(api)


def _mount() -> None:
    from clientbase.customers.api import accounts, contacts, customer_groups, grants, organizations, roles

    api.add_router("/contacts", contacts.router)
    api.add_router("/organizations", organizations.router)
    api.add_router("/customer-groups", customer_groups.router)
    api.add_router("/accounts", accounts.router)
    api.add_router("/roles", roles.router)
    api.add_router("/grants", grants.router)

    from clientbase.catalog.api import markets, products, variants
    from clientbase.pricing.api import router as prices

    api.add_router("/markets", markets)
    api.add_router("/products", products)
    api.add_router("/variants", variants)
    api.add_router("/prices", prices)


_mount()
