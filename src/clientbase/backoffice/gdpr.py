"""The contact page's GDPR actions: "Download personal data" (the JSON
document of transfer.gdpr.personal_data) and "Erase personal data" (a page
that says what will happen, then transfer.gdpr.erase_contact).

Mixed into ContactAdmin (backoffice/contacts.py), which lists
PERSONAL_DATA_ACTIONS in its `actions_detail`. A contact the staff member
cannot see is a 404 (ScopedModelAdmin.get_object); without the permission
the buttons are not shown and the pages answer 403.
"""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.decorators import action

from clientbase.core.errors import DomainError
from clientbase.transfer import gdpr

PERSONAL_DATA_ACTIONS = ["download_personal_data", "erase_personal_data"]
# Action name → the permission it needs.
_PERMISSIONS = {"download_personal_data": gdpr.EXPORT_PERMISSION, "erase_personal_data": gdpr.ERASE_PERMISSION}


class ConfirmErasureForm(forms.Form):
    confirm = forms.BooleanField(
        required=True, label="I understand that the erasure cannot be undone.",
        error_messages={"required": "Tick the box to confirm the erasure."})


class PersonalDataActions:
    """The two actions, for a ModelAdmin of contacts."""

    def get_actions_detail(self, request: HttpRequest, object_id):
        actions = super().get_actions_detail(request, object_id)
        prefix = f"{self.opts.app_label}_{self.opts.model_name}_"
        return [a for a in actions
                if (perm := _PERMISSIONS.get(a.action_name.removeprefix(prefix))) is None
                or request.user.has_perm(perm)]

    def _contact_for(self, request: HttpRequest, object_id: str, permission: str):
        self._check_id(request, object_id)
        contact = self.get_object(request, object_id)  # 404 for one the caller cannot see
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return contact

    @action(description="Download personal data", url_path="personal-data", icon="download")
    def download_personal_data(self, request: HttpRequest, object_id: str):
        """Everything held about the contact, as a JSON file (GDPR art. 15 and 20)."""
        contact = self._contact_for(request, object_id, gdpr.EXPORT_PERMISSION)
        data = gdpr.personal_data(contact, actor=request.user)
        response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2),
                                content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="personal-data-{contact.pk}.json"'
        return response

    @action(description="Erase personal data", url_path="erase-personal-data", icon="delete_forever")
    def erase_personal_data(self, request: HttpRequest, object_id: str):
        """A page saying what the erasure does to this contact; confirmed, it erases."""
        contact = self._contact_for(request, object_id, gdpr.ERASE_PERMISSION)
        if not self.has_change_permission(request, contact):
            raise PermissionDenied  # sees the contact, may not change it
        change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[contact.pk])
        form = ConfirmErasureForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                erasure = gdpr.erase_contact(contact, actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(request, (
                    f"The contact's personal data is erased: {erasure.addresses_deleted} addresses deleted, "
                    f"{erasure.orders_anonymised} orders kept anonymised"
                    f"{', the account closed' if erasure.account_closed else ''}."))
            return HttpResponseRedirect(change_url)
        plan = None
        if contact.erased_at is None:
            try:
                plan = gdpr.plan_erasure(contact, actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.detail)
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Erase the personal data of {contact}",
            "subtitle": None,
            "opts": self.opts,
            "original": contact,
            "plan": plan,
            "form": form,
            "change_url": change_url,
            "has_view_permission": True,
            "app_label": self.opts.app_label,
        }
        return TemplateResponse(request, "gdpr/contact_erase.html", context)
