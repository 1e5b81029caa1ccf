import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientbase.settings")
application = get_wsgi_application()

from clientbase.ops.process import settle_for_serving  # noqa: E402 (needs Django set up)

settle_for_serving()
