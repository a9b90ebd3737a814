"""The URLconf of the Django tests' project: the app, and a shop page of its own."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path


def shop_orders(request):
    """A shop page of its own, behind Django's ``login_required``."""
    return HttpResponse(f"orders of {request.user.pk}")


urlpatterns = [
    path("compte/", include("echoppe_accounts.contrib.django.urls")),
    path(
        "commandes/",
        login_required(shop_orders, login_url="/compte/connexion/"),
        name="orders",
    ),
]
