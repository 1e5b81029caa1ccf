"""django-axes' pages (login attempts, lockouts, the access log) in the back
office: axes registers its own ModelAdmins; they get the same 404 for an id
that names nothing as every other page (base.BadInputMixin), instead of
Django's redirect to the index."""

import axes.admin  # noqa: F401  (registers axes' admins first, whatever the app order)
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin

from clientbase.backoffice.base import BadInputMixin

for model in (AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(model):
        registered = type(admin.site.get_model_admin(model))
        admin.site.unregister(model)
        admin.site.register(model, type(registered.__name__, (BadInputMixin, registered), {}))
