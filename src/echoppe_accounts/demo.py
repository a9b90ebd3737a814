"""A guided tour of the library on a SQLite file and a local mailbox.

Run it with ``python -m echoppe_accounts.demo [FOLDER]`` (``make demo``).
It starts afresh in *FOLDER* (default ``demo-data``), and leaves the
database and the Maildir mailbox there for you to look at.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import mailbox
import os
import re
import shutil
import sys
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import TextIO

import attrs

from echoppe_accounts import (
    Account,
    AddressForm,
    App,
    AuthenticationError,
    DeliveryForm,
    ExpressForm,
    RegistrationForm,
    Settings,
    ValidationError,
    sqlite_app,
)

_PAYMENT_FR = {
    "card": "carte bancaire",
    "bank_transfer": "virement",
    "deferred_invoice_30": "facture à 30 jours",
    "administrative_mandate": "mandat administratif",
}
_DELIVERY_FR = {
    "home": "domicile",
    "relay_point": "point relais",
    "business_address": "adresse professionnelle",
}

PARIS = AddressForm(["12 rue des Lilas"], "75011", "Paris")
LYON = AddressForm(["Hôtel de Ville", "1 place de la Comédie"], "69001", "Lyon")
NANTES = AddressForm(
    ["Zone de la Chantrerie", "5 rue Alfred Kastler"], "44300", "Nantes"
)
BORDEAUX = AddressForm(
    ["Cabinet Martin", "8 cours de l’Intendance"], "33000", "Bordeaux"
)

CUSTOMERS: Sequence[RegistrationForm] = (
    RegistrationForm(
        category="particulier",
        email="Jean.Dupont@Exemple.FR",
        phone="06 12 34 56 78",
        name="Jean Dupont",
        password="le chat dort sur la terrasse",
        billing_address=PARIS,
        delivery_addresses=[DeliveryForm("Jean Dupont", PARIS, "Maison")],
        newsletter=True,
        newsletter_wording_version="newsletter-2026-01",
    ),
    RegistrationForm(
        category="professionnel",
        email="contact@cabinet-martin.fr",
        phone="05 56 00 00 00",
        name="Claire Martin",
        password="trois tasses de café avant midi",
        organisation_name="Cabinet Martin",
        siret="732 829 320 00074",
        billing_address=BORDEAUX,
        delivery_addresses=[DeliveryForm("Secrétariat", BORDEAUX)],
    ),
    RegistrationForm(
        category="entreprise",
        email="achats@atelier-nantais.fr",
        phone="+33 2 40 00 00 00",
        name="Paul Durand",
        password="les bateaux rentrent au port ce soir",
        organisation_name="Atelier Nantais SAS",
        siret="356 000 000 49837",
        billing_address=NANTES,
        delivery_addresses=[DeliveryForm("Quai de réception", NANTES, "Entrepôt")],
    ),
    RegistrationForm(
        category="collectivité",
        email="commande-publique@mairie-lyon.fr",
        phone="04 72 10 30 30",
        name="Service achats",
        password="la fontaine de la place chante",
        organisation_name="Mairie de Lyon",
        siret="21690123100011",
        chorus_requirement="both",
        chorus_service_code="ACHATS-01",
        chorus_engagement_number="EJ-2026-0042",
        billing_address=LYON,
        delivery_addresses=[DeliveryForm("Accueil services techniques", LYON)],
    ),
)


class _Printer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.color = out.isatty() and "NO_COLOR" not in os.environ

    def _style(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def title(self, text: str) -> None:
        self.line()
        self.line(self._style(text, "1"))
        self.line(self._style("─" * len(text), "2"))

    def ok(self, text: str) -> None:
        self.line(f"  {self._style('✔', '32')} {text}")

    def refused(self, text: str) -> None:
        self.line(f"  {self._style('✘', '31')} {text}")

    def line(self, text: str = "") -> None:
        print(text, file=self.out)


def _show_errors(p: _Printer, exc: ValidationError) -> None:
    width = max(len(e.path) for e in exc.errors)
    for error in exc.errors:
        p.refused(f"{error.path:<{width}}  {error.message('fr')}  [{error.code}]")


def _chronological(key: str) -> tuple[float, int]:
    # Maildir keys are "<time>.M<usec>P<pid>Q<counter>.<host>".
    stamp, _, rest = key.partition(".")
    counter = re.search(r"Q(\d+)", rest)
    return float(stamp), int(counter.group(1)) if counter else 0


def _describe(app: App, account: Account) -> list[str]:
    offer = app.accounts.offer(account.id)
    payments = ", ".join(sorted(_PAYMENT_FR[p] for p in offer.payment_methods))
    deliveries = ", ".join(sorted(_DELIVERY_FR[d] for d in offer.delivery_modes))
    who = account.organisation.name if account.organisation else account.name
    lines = [f"{account.category.label_fr:<14} {who}  <{account.email}>"]
    siret = account.organisation.siret if account.organisation else None
    if siret is not None:
        lines.append(f"{'':14} SIRET {siret.formatted} · TVA {siret.vat_number}")
    lines.append(f"{'':14} paiement : {payments}")
    lines.append(f"{'':14} livraison : {deliveries}")
    return lines


def run(folder: Path, out: TextIO = sys.stdout) -> App:
    """Run the tour in *folder* (emptied first) and return the wired app."""
    p = _Printer(out)
    database, maildir = folder / "accounts.sqlite3", folder / "mailbox"
    for stale in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(maildir, ignore_errors=True)
    # The library names no shop: the demo is L'Échoppe's, and says so.
    settings = Settings(
        base_url="https://www.lechoppe.fr",
        shop_name="L'Échoppe",
        sender="L'Échoppe <ne-pas-repondre@lechoppe.fr>",
    )
    app = sqlite_app(database, maildir, settings)

    p.title("L’Échoppe · comptes clients — démonstration")
    p.line(f"  base SQLite : {database}")
    p.line(f"  boîte mail  : {maildir}/ (Maildir)")
    accounts = _register_everyone(p, app)
    _refusals(p, app)
    _address_book(p, app, accounts[2])
    _invoice(p, app, accounts[3])
    _express(p, app)
    _mails(p, app, maildir)
    _reset(p, app, maildir)
    _customer_service(p, app, accounts[1])
    _email_change(p, app, maildir, accounts[1])
    _my_data(p, app, folder, accounts[0])

    p.title("À vous")
    p.line(f"  sqlite3 {database} 'select email, category from accounts'")
    p.line(f"  mutt -f {maildir}     (ou ouvrez {maildir}/new/ dans un éditeur)")
    p.line()
    return app


def _register_everyone(p: _Printer, app: App) -> list[Account]:
    p.title("1. Un client de chaque catégorie")
    accounts = [app.accounts.register(form) for form in CUSTOMERS]
    for account in accounts:
        first, *rest = _describe(app, account)
        p.ok(first)
        for line in rest:
            p.line(f"    {line}")
    return accounts


def _refusals(p: _Printer, app: App) -> None:
    p.title("2. Une inscription refusée : toutes les erreurs d’un coup")
    try:
        app.accounts.register(
            RegistrationForm(
                category="entreprise",
                email="jean.dupont@exemple.fr",
                phone="06 12",
                name="Jean Dupont",
                password="azerty",
                organisation_name="Dupont & Fils",
                siret="732 829 320 00079",
                billing_address=AddressForm(["1 rue du Moulin"], "96000", "Nulle-Part"),
            )
        )
    except ValidationError as exc:
        _show_errors(p, exc)
    p.line("  Et la même adresse e-mail, autrement écrite, dans un formulaire valide :")
    try:
        app.accounts.register(
            attrs.evolve(CUSTOMERS[0], email="jean.dupont@EXEMPLE.fr")
        )
    except ValidationError as exc:
        _show_errors(p, exc)


def _address_book(p: _Printer, app: App, company: Account) -> None:
    p.title("3. Carnet d’adresses : une facturation, plusieurs livraisons")
    workshop = AddressForm(["ZI du Pontet"], "84130", "Le Pontet")
    extra = app.accounts.add_delivery_address(
        company.id, DeliveryForm("Atelier Sud", workshop)
    )
    p.ok(f"adresse de livraison ajoutée : {' / '.join(extra.render())}")
    try:
        app.accounts.add_delivery_address(
            company.id, DeliveryForm("Atelier Sud", workshop), billing_address=workshop
        )
    except ValidationError as exc:
        p.refused(exc.errors[0].message("fr"))


def _invoice(p: _Printer, app: App, public_body: Account) -> None:
    p.title("4. Ce que la facture montre (jamais le nom du contact livraison)")
    view = app.accounts.invoice_view(public_body.id)
    width = max(len(line) for line in view.billing_lines) + 4
    p.line("  ┌" + "─" * width + "┐")
    for line in view.billing_lines:
        p.line(f"  │  {line:<{width - 2}}│")
    p.line("  └" + "─" * width + "┘")
    p.line(f"  SIRET {view.siret} · TVA {view.vat_number}")
    if view.chorus is not None:
        p.line(
            f"  Chorus Pro : service {view.chorus.service_code}, "
            f"engagement {view.chorus.engagement_number}"
        )


def _express(p: _Printer, app: App) -> None:
    p.title("5. Création de compte accélérée, au panier validé")
    app.accounts.register_express(
        ExpressForm("lea.petit@exemple.fr", DeliveryForm("Léa Petit", PARIS))
    )
    p.ok("compte créé avec un e-mail et une adresse de livraison, sans mot de passe")
    again = app.accounts.register_express(
        ExpressForm("Jean.Dupont@exemple.fr", DeliveryForm("Quelqu’un", PARIS))
    )
    p.ok(
        "même réponse pour un e-mail déjà connu (aucun second compte) : "
        f"compte {again.account_id[:8]}…"
    )


def _mails(p: _Printer, app: App, maildir: Path) -> None:
    p.title("6. Les e-mails, écrits dans l’outbox puis distribués")
    report = app.dispatcher.dispatch()
    p.ok(f"{report.sent} e-mails distribués, {report.failed} en échec")
    box = mailbox.Maildir(maildir, create=False)
    for key in sorted(box.keys(), key=_chronological):
        message = box[key]
        p.line(f"    → {message['To']:<34} {_decode(str(message['Subject']))}")


def _read_latest(maildir: Path, to: str) -> tuple[str, str]:
    """Return the file name and plain-text body of the newest mail to *to*."""
    box = mailbox.Maildir(maildir, create=False)
    for key in sorted(box.keys(), key=_chronological, reverse=True):
        message = email.message_from_bytes(
            box.get_bytes(key), policy=email.policy.default
        )
        if str(message["To"]) == to and isinstance(message, EmailMessage):
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if isinstance(body, EmailMessage) else ""
            return key, text
    msg = f"no mail to {to} in {maildir}"
    raise LookupError(msg)


def _reset(p: _Printer, app: App, maildir: Path) -> None:
    p.title("7. « J’ai oublié mon mot de passe » : la réinitialisation en deux temps")
    jean = "Jean.Dupont@exemple.fr"
    other_browser = app.auth.login(
        "jean.dupont@exemple.fr", "le chat dort sur la terrasse"
    )
    p.ok("Jean est connecté sur un autre navigateur (la boutique garde son tampon")
    p.line("    de session)")
    app.auth.request_password_reset("jean.dupont@exemple.fr")
    app.auth.request_password_reset("inconnu@exemple.fr")
    app.auth.request_password_reset("jean.dupont@exemple.fr")
    p.ok("demande reçue ; même réponse pour une adresse inconnue, et pas de second")
    p.line("    e-mail dans les 4 minutes qui suivent")
    app.dispatcher.dispatch()
    key, text = _read_latest(maildir, jean)
    confirm = re.search(r"confirmer\?jeton=([\w-]+)", text)
    assert confirm is not None  # noqa: S101 (the demo's own mail)
    p.ok(f"e-mail 1 dans la boîte ({key[:18]}…) : lien de confirmation et")
    p.line("    lien « Ce n’était pas moi », valables une heure, une seule fois")
    app.auth.confirm_password_reset(confirm.group(1))
    app.dispatcher.dispatch()
    _, text = _read_latest(maildir, jean)
    temporary = re.search(r"[2-9A-Z]{4}(?:-[2-9A-Z]{4}){3}", text)
    assert temporary is not None  # noqa: S101 (the demo's own mail)
    p.ok(f"e-mail 2 : mot de passe temporaire {temporary.group(0)} (24 heures)")
    session = app.auth.login("jean.dupont@exemple.fr", temporary.group(0))
    p.ok(
        f"connexion avec le mot de passe temporaire : session restreinte = "
        f"{'oui' if session.restricted else 'non'}"
    )
    assert session.change_token is not None  # noqa: S101 (restricted login)
    try:
        app.auth.set_new_password(session.change_token.reveal(), "motdepasse")
    except ValidationError as exc:
        p.refused(f"« motdepasse » : {exc.errors[0].message('fr')}")
    app.auth.set_new_password(session.change_token.reveal(), "un jardin sous la pluie")
    p.ok("nouveau mot de passe choisi ; l’ancien ne fonctionne plus :")
    try:
        app.auth.login("jean.dupont@exemple.fr", "le chat dort sur la terrasse")
    except AuthenticationError as exc:
        p.refused(exc.message("fr"))
    app.auth.login("jean.dupont@exemple.fr", "un jardin sous la pluie")
    p.ok("connexion avec le nouveau mot de passe, e-mail de confirmation envoyé")
    current = app.auth.is_session_current(
        other_browser.account_id, other_browser.session_stamp
    )
    p.refused(f"l’autre navigateur : is_session_current = {current}, la boutique")
    p.line("    ferme cette session")


def _email_change(p: _Printer, app: App, maildir: Path, customer: Account) -> None:
    p.title("9. Changer d’adresse e-mail : la nouvelle boîte doit confirmer")
    old = str(customer.email)
    new = "nouvelle.adresse@exemple.fr"
    # The current password is asked: a session alone is not enough (F10).
    app.accounts.change_email(customer.id, new, "trois tasses de café avant midi")
    app.dispatcher.dispatch()
    p.ok(f"lien de confirmation envoyé à {new} ;")
    p.line(f"    {old} est prévenue, avec un lien pour annuler")
    p.ok(f"en attendant, le compte garde {app.accounts.get(customer.id).email}")
    _, text = _read_latest(maildir, new)
    confirm = re.search(r"confirmer\?jeton=([\w-]+)", text)
    assert confirm is not None  # noqa: S101 (the demo's own mail)
    app.accounts.confirm_email_change(confirm.group(1))
    p.ok(f"lien suivi : l’adresse du compte est maintenant {new}")


def _customer_service(p: _Printer, app: App, customer: Account) -> None:
    p.title("8. Le service clients donne un mot de passe provisoire")
    provisional = app.auth.issue_provisional_password(
        customer.id,
        agent_id="conseiller-12",
        reason="e-mail de réinitialisation non reçu",
    )
    p.ok(f"mot de passe provisoire à lire au client : {provisional.reveal()}")
    p.line(
        f"    (affiché une fois ; dans les journaux il apparaît comme {provisional!r})"
    )
    session = app.auth.login(str(customer.email), provisional.reveal())
    p.ok(
        f"le client se connecte : il doit d’abord choisir un nouveau mot de passe "
        f"({'session restreinte' if session.restricted else '?'})"
    )
    app.dispatcher.dispatch()


def _my_data(p: _Printer, app: App, folder: Path, customer: Account) -> None:
    p.title("10. « Mes données » et l’effacement")
    export = app.privacy.export_personal_data(customer.id)
    json_path = folder / "mes-donnees.json"
    html_path = folder / "mes-donnees.html"
    json_path.write_text(export.as_json(), encoding="utf-8")
    html_path.write_text(export.as_html(), encoding="utf-8")
    p.ok(f"export JSON (schéma {export.data['schema_version']}) : {json_path}")
    p.ok(f"page lisible : {html_path}")
    express = app.accounts.find_by_email("lea.petit@exemple.fr")
    assert express is not None  # noqa: S101 (created in step 5)
    app.privacy.erase_account(express.id)
    view = app.accounts.invoice_view(express.id)
    kept = " / ".join(view.billing_lines)
    p.ok(f"compte de Léa Petit effacé ; la facture garde : {kept}")
    again = app.accounts.register_express(
        ExpressForm("lea.petit@exemple.fr", DeliveryForm("Léa Petit", PARIS))
    )
    p.ok(f"son adresse e-mail est libre à nouveau (compte {again.account_id[:8]}…)")


def _decode(header: str) -> str:
    from email.header import decode_header, make_header  # noqa: PLC0415

    return str(make_header(decode_header(header)))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m echoppe_accounts.demo``.

    ``--help`` prints the usage and creates nothing.
    """
    parser = argparse.ArgumentParser(
        prog="python -m echoppe_accounts.demo",
        description=(
            "A guided tour of echoppe-accounts on a SQLite file and a local "
            "mailbox (Maildir), both kept in FOLDER for you to look at."
        ),
    )
    parser.add_argument(
        "folder",
        nargs="?",
        default="demo-data",
        type=Path,
        metavar="FOLDER",
        help="where the database, the mailbox and the export go (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    run(args.folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
