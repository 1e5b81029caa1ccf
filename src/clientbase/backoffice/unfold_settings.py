"""Theme and navigation of the back office (django-unfold)."""

UNFOLD = {
    "SITE_TITLE": "clientbase",
    "SITE_HEADER": "clientbase",
    "SITE_SYMBOL": "groups",
    "SHOW_HISTORY": True,
}
