"""One customer's whole journey through the JSON API on each storage adapter (issue 20).

Memory, SQLite and PostgreSQL (marker ``postgres``): sign-up, login, the
address book, a password change that ends a stolen session (SPEC P6),
"Mes données" and erasure (G1, G3).
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the JSON API needs the fastapi extra")
pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2")

from fastapi.testclient import TestClient

from echoppe_accounts import Argon2Hasher, Settings, bootstrap
from echoppe_accounts.contrib.api import ApiSettings, create_app
from echoppe_accounts.testing import FrozenClock, RecordingMailer

PASSWORD = "une phrase de passe solide"
EMAIL = "claire.martin@exemple.fr"
ADDRESS = {
    "street_lines": ["12 rue des Lilas"],
    "postal_code": "75011",
    "city": "Paris",
}


def test_a_customer_s_journey_on_each_store(uow_factory):
    """W2, W3, P6, G1, G3: the same answers whatever the storage."""
    library = bootstrap(
        uow_factory,
        RecordingMailer(),
        Settings(base_url="https://www.lechoppe.fr", outbox_key=bytes(32)),
        clock=FrozenClock(),
        hasher=Argon2Hasher(memory_cost=8, time_cost=1),
    )
    http = TestClient(
        create_app(library, ApiSettings(secret_key=b"s" * 32)),
        base_url="https://testserver",
    )
    signup = {
        "category": "entreprise",
        "email": EMAIL,
        "phone": "06 12 34 56 78",
        "name": "Claire Martin",
        "password": PASSWORD,
        "organisation_name": "Exemple SA",
        "siret": "732 829 320 00074",
        "billing_address": ADDRESS,
        "delivery_addresses": [{"contact_name": "Claire", "address": ADDRESS}],
    }
    assert http.post("/signup", json=signup).status_code == 201
    assert http.post("/signup", json=signup).json()["errors"][0]["code"] == (
        "email.taken"
    )

    def login():
        response = http.post(
            "/login", json={"email": EMAIL, "password": PASSWORD, "session": "bearer"}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    mine, stolen = login(), login()
    added = http.post(
        "/addresses/delivery",
        json={"contact_name": "Entrepôt", "address": ADDRESS},
        headers=mine,
    )
    assert added.status_code == 201
    assert len(http.get("/addresses", headers=mine).json()["deliveries"]) == 2
    changed = http.post(
        "/password/change",
        json={"current_password": PASSWORD, "new_password": PASSWORD + " neuve"},
        headers=mine,
    )
    assert changed.status_code == 200
    mine = {"Authorization": f"Bearer {changed.json()['token']}"}
    assert http.get("/account", headers=stolen).status_code == 401
    data = http.get("/personal-data", headers=mine).json()
    assert EMAIL in str(data)
    erased = http.post(
        "/erase", json={"password": PASSWORD + " neuve", "confirm": True}, headers=mine
    )
    assert erased.status_code == 204
    assert http.get("/account", headers=mine).status_code == 401
