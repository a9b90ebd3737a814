"""A small Django project around the app, for the Django tests (SPEC W1–W4).

``configure()`` sets Django's settings once per process (cookie sessions,
so no Django database is needed: the customers live in the library's);
its URLconf is ``django_urls``.
"""

from __future__ import annotations

import re

import django
from django.conf import settings

BASE_URL = "https://shop.test"


def configure() -> None:
    """Configure Django for the tests, once per process."""
    if settings.configured:
        return
    settings.configure(
        SECRET_KEY="test-secret-key-for-the-django-app-of-echoppe-accounts",
        DEBUG=False,
        ALLOWED_HOSTS=["testserver", "shop.test"],
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "echoppe_accounts.contrib.django",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "echoppe_accounts.contrib.django.middleware.EchoppeMiddleware",
        ],
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        ROOT_URLCONF="django_urls",
        DATABASES={},
        USE_TZ=True,
        ECHOPPE={"BASE_URL": BASE_URL},
    )
    django.setup()


LINK = re.compile(r"https?://[^/\s]+(/[^\s\"'<>]*\?jeton=[A-Za-z0-9_-]+)")


def links(mail) -> list[str]:
    """Return the paths (with their token) of the links in *mail*, in order."""
    return LINK.findall(mail.text)
