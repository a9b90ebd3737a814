"""The URLs of "Mon compte": ``include("echoppe_accounts.contrib.django.urls")``.

Their names (``echoppe:login``…) are what mailed links are built from
(SPEC W4): moving a path here moves the links in the mails with it. Every
view is wrapped in ``csrf_protect``, so a POST without Django's CSRF token is
refused even where ``CsrfViewMiddleware`` is missing (SPEC W3).
"""

from __future__ import annotations

from django.urls import path
from django.views.decorators.csrf import csrf_protect

from echoppe_accounts.contrib.django import account_views as a
from echoppe_accounts.contrib.django import views as v

app_name = "echoppe"

_ROUTES = (
    ("", a.home, "home"),
    ("inscription/", v.signup, "signup"),
    ("inscription/verifier/", v.signup_verify, "signup_verify"),
    ("connexion/", v.login, "login"),
    ("deconnexion/", v.logout, "logout"),
    ("mot-de-passe/oublie/", v.reset_request, "reset_request"),
    ("mot-de-passe/confirmer/", v.reset_confirm, "reset_confirm"),
    ("mot-de-passe/annuler/", v.reset_cancel, "reset_cancel"),
    ("mot-de-passe/nouveau/", v.forced_change, "forced_change"),
    ("mot-de-passe/definir/", v.complete, "complete"),
    ("completer/", a.complete_account, "complete_account"),
    ("mot-de-passe/", a.password_change, "password_change"),
    ("e-mail/", a.email_change, "email_change"),
    ("e-mail/confirmer/", a.email_change_confirm, "email_change_confirm"),
    ("e-mail/annuler/", a.email_change_cancel, "email_change_cancel"),
    ("adresses/", a.addresses, "addresses"),
    ("adresses/ajouter/", a.address_add, "address_add"),
    ("adresses/facturation/", a.billing, "billing"),
    ("adresses/<str:delivery_id>/", a.address_edit, "address_edit"),
    ("adresses/<str:delivery_id>/supprimer/", a.address_remove, "address_remove"),
    ("newsletter/", a.newsletter, "newsletter"),
    ("newsletter/confirmer/", a.newsletter_confirm, "newsletter_confirm"),
    ("mes-donnees/", a.my_data, "my_data"),
    ("mes-donnees.json", a.my_data_json, "my_data_json"),
    ("supprimer/", a.erase, "erase"),
)

urlpatterns = [
    path(route, csrf_protect(view), name=name) for route, view, name in _ROUTES
]
