"""`clientbase gdpr export|erase CONTACT`: everything held about a contact as
JSON, or the erasure of its personal data (transfer.gdpr)."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from clientbase.cli.actors import AS_HELP, acting_account
from clientbase.core.errors import DomainError
from clientbase.core.permissions import require
from clientbase.transfer import gdpr


class Command(BaseCommand):
    help = ("GDPR: `export CONTACT` writes everything held about a contact as one JSON document; "
            "`erase CONTACT --yes` erases its personal data for good (orders are kept, anonymised). "
            "CONTACT is an id, a key or an e-mail address.")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="export|erase|erase-guest")
        export = actions.add_parser("export", help="Everything held about one contact, as JSON.")
        erase = actions.add_parser("erase", help="Erase one contact's personal data (irreversible).")
        guest = actions.add_parser("erase-guest", help="Anonymise the guest orders placed with an e-mail "
                                                       "that no contact has (irreversible).")
        for sub in (export, erase, guest):
            sub.add_argument("contact", metavar="CONTACT" if sub is not guest else "GUEST_EMAIL",
                             help="The contact's id, key or e-mail." if sub is not guest else
                             "The e-mail typed at the guest checkouts.")
            sub.add_argument("--as", dest="as_email", metavar="EMAIL", help=AS_HELP)
        export.add_argument("-o", "--output", metavar="FILE", help="Write here rather than to standard output.")
        for sub in (erase, guest):
            sub.add_argument("--yes", action="store_true", help="Confirm: the erasure cannot be undone.")

    def handle(self, *args, action: str, contact: str, as_email: str | None, **options) -> None:
        actor = acting_account(as_email)
        try:
            if action == "export":
                self._export(actor, contact, options.get("output"))
            elif action == "erase":
                self._erase(actor, contact, options.get("yes", False))
            else:
                self._erase_guest(actor, contact, options.get("yes", False))
        except DomainError as exc:
            raise CommandError(str(exc)) from exc

    def _export(self, actor, ident: str, output: str | None) -> None:
        require(actor, gdpr.EXPORT_PERMISSION)  # before the contact is looked up, as in the API
        data = gdpr.personal_data(gdpr.visible_contact(actor, ident), actor=actor)
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        if output is None:
            self.stdout.write(text, ending="")
            return
        try:
            with open(output, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from exc
        sys.stderr.write(f"Personal data of contact {data['contact']['id']} written to {output}.\n")

    @staticmethod
    def _confirm(confirmed: bool) -> None:
        if not confirmed:
            raise CommandError("Erasing is irreversible: add --yes to confirm.")

    def _erase_guest(self, actor, email: str, confirmed: bool) -> None:
        self._confirm(confirmed)
        count = gdpr.erase_guest_orders(email, actor=actor)
        self.stdout.write(f"{count} guest orders anonymised.")

    def _erase(self, actor, ident: str, confirmed: bool) -> None:
        self._confirm(confirmed)
        require(actor, gdpr.ERASE_PERMISSION)
        erasure = gdpr.erase_contact(gdpr.visible_contact(actor, ident), actor=actor)
        self.stdout.write(
            f"Erased contact {erasure.contact_id}: {erasure.addresses_deleted} addresses deleted, "
            f"account {'closed' if erasure.account_closed else 'none'}, {erasure.tokens_revoked} tokens "
            f"revoked, {erasure.carts_deleted} carts deleted, {erasure.orders_anonymised} orders anonymised, "
            f"{erasure.login_records_deleted} login records deleted.")
