"""Theme and navigation of the back office (django-unfold).

Imported by settings.py, so nothing here may import models: links are lazy
and permission checks are named by import path.
"""

from django.templatetags.static import static
from django.urls import reverse_lazy

_NAV = "clientbase.backoffice.navigation"

UNFOLD = {
    "SITE_TITLE": "clientbase",
    "SITE_HEADER": "clientbase",
    "SITE_SUBHEADER": "Customer management",
    "SITE_SYMBOL": "groups",
    "SHOW_HISTORY": True,
    "DASHBOARD_CALLBACK": "clientbase.backoffice.dashboard.dashboard_callback",
    # An autocomplete that finds nothing says why (not found, or not visible).
    "SCRIPTS": [lambda request: static("backoffice/explain-empty.js")],
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": False,  # the shop's sections only (no Django/axes internals)
        "navigation": [
            {
                "title": "Customers",
                "separator": True,
                "items": [
                    {"title": "Dashboard", "icon": "dashboard",
                     "link": reverse_lazy("admin:index")},
                    {"title": "Contacts", "icon": "person",
                     "link": reverse_lazy("admin:customers_contact_changelist"),
                     "permission": f"{_NAV}.can_view_contacts"},
                    {"title": "Organizations", "icon": "account_tree",
                     "link": reverse_lazy("admin:customers_organization_changelist"),
                     "permission": f"{_NAV}.can_view_organizations"},
                    {"title": "Organization tree", "icon": "lan",
                     "link": reverse_lazy("admin:customers_organization_tree"),
                     "permission": f"{_NAV}.can_view_organizations"},
                    {"title": "Customer groups", "icon": "workspaces",
                     "link": reverse_lazy("admin:customers_customergroup_changelist"),
                     "permission": f"{_NAV}.can_view_customer_groups"},
                    {"title": "Imports", "icon": "upload_file",
                     "link": reverse_lazy("admin:transfer_importjob_changelist"),
                     "permission": f"{_NAV}.can_import"},
                ],
            },
            {
                "title": "Marketing",
                "separator": True,
                "items": [
                    {"title": "Visitor groups", "icon": "groups",
                     "link": reverse_lazy("admin:marketing_visitorgroup_changelist"),
                     "permission": f"{_NAV}.can_view_visitor_groups"},
                    {"title": "Segments", "icon": "donut_small",
                     "link": reverse_lazy("admin:marketing_segment_changelist"),
                     "permission": f"{_NAV}.can_view_segments"},
                    {"title": "Campaigns", "icon": "campaign",
                     "link": reverse_lazy("admin:marketing_campaign_changelist"),
                     "permission": f"{_NAV}.can_view_campaigns"},
                    {"title": "Content slots", "icon": "web",
                     "link": reverse_lazy("admin:marketing_contentslot_changelist"),
                     "permission": f"{_NAV}.can_view_content_slots"},
                ],
            },
            {
                "title": "Catalog",
                "separator": True,
                "items": [
                    {"title": "Markets", "icon": "public",
                     "link": reverse_lazy("admin:catalog_market_changelist"),
                     "permission": f"{_NAV}.can_view_markets"},
                    {"title": "Products", "icon": "inventory_2",
                     "link": reverse_lazy("admin:catalog_product_changelist"),
                     "permission": f"{_NAV}.can_view_products"},
                    {"title": "Variants", "icon": "style",
                     "link": reverse_lazy("admin:catalog_variant_changelist"),
                     "permission": f"{_NAV}.can_view_variants"},
                    {"title": "Price rows", "icon": "sell",
                     "link": reverse_lazy("admin:pricing_pricerow_changelist"),
                     "permission": f"{_NAV}.can_view_prices"},
                    {"title": "Price preview", "icon": "price_check",
                     "link": reverse_lazy("admin:pricing_pricerow_preview"),
                     "permission": f"{_NAV}.can_view_prices"},
                ],
            },
            {
                "title": "Access",
                "separator": True,
                "items": [
                    {"title": "Accounts", "icon": "badge",
                     "link": reverse_lazy("admin:customers_account_changelist"),
                     "permission": f"{_NAV}.can_view_accounts"},
                    {"title": "Roles", "icon": "shield_person",
                     "link": reverse_lazy("admin:auth_group_changelist"),
                     "permission": f"{_NAV}.can_view_roles"},
                    {"title": "Organization grants", "icon": "key",
                     "link": reverse_lazy("admin:customers_grant_changelist"),
                     "permission": f"{_NAV}.can_view_grants"},
                    {"title": "API tokens", "icon": "token",
                     "link": reverse_lazy("admin:customers_apitoken_changelist"),
                     "permission": f"{_NAV}.can_view_api_tokens"},
                ],
            },
            {
                "title": "Security",
                "separator": True,
                "items": [
                    {"title": "Login lockouts", "icon": "lock_person",
                     "link": reverse_lazy("admin:axes_accessattempt_changelist"),
                     "permission": f"{_NAV}.can_view_login_attempts"},
                    {"title": "Failed logins", "icon": "no_accounts",
                     "link": reverse_lazy("admin:axes_accessfailurelog_changelist"),
                     "permission": f"{_NAV}.can_view_failed_logins"},
                    {"title": "Login log", "icon": "history",
                     "link": reverse_lazy("admin:axes_accesslog_changelist"),
                     "permission": f"{_NAV}.can_view_login_log"},
                ],
            },
        ],
    },
}
