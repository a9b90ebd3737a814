"""The JSON API fuzzed from its own OpenAPI schema with Schemathesis (issue 20; W1, F8).

Whatever the body, parameters or headers, no answer is a server error and
every answer matches the schema: its status is declared, its body has the
declared shape. Anonymous endpoints and a logged-in bearer session are both
fuzzed. The short run stays in every test run; the long one is ``slow``.
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the JSON API needs the fastapi extra")
pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2")
pytest.importorskip("schemathesis", reason="the fuzz needs Schemathesis")

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from echoppe_accounts import (
    Argon2Hasher,
    ClientLimits,
    InMemoryStore,
    Settings,
    bootstrap,
)
from echoppe_accounts.contrib.api import ApiSettings, create_app
from echoppe_accounts.testing import FrozenClock, RecordingMailer
from sample_forms import form

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PASSWORD = "une phrase de passe solide"


def _api():
    library = bootstrap(
        InMemoryStore().unit_of_work,
        RecordingMailer(),
        Settings(
            base_url="https://www.lechoppe.fr",
            outbox_key=bytes(32),
            # No client limits: the fuzz would otherwise only meet 429s.
            client_limits=ClientLimits(None, None, None, None),
        ),
        clock=FrozenClock(),
        hasher=Argon2Hasher(memory_cost=8, time_cost=1),
    )
    api = create_app(library, ApiSettings(secret_key=b"f" * 32))
    library.accounts.register(form(password=PASSWORD))
    return api


API = _api()
schema = schemathesis.openapi.from_asgi("/openapi.json", API)


def _bearer() -> dict[str, str]:
    response = TestClient(API, base_url="https://testserver").post(
        "/login",
        json={
            "email": "jean.dupont@exemple.fr",
            "password": PASSWORD,
            "session": "bearer",
        },
    )
    return {"Authorization": f"Bearer {response.json()['token']}"}


BEARER = _bearer()
FUZZ = settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@schema.parametrize()
@FUZZ
def test_no_input_makes_a_server_error_and_every_answer_matches_the_schema(case):
    """Anonymous requests of any shape: no 500, every answer as declared (F8, W4)."""
    case.call_and_validate(checks=CHECKS)


@schema.exclude(path_regex="^/(erase|logout|password/change)$").parametrize()
@FUZZ
def test_a_logged_in_app_meets_no_server_error_either(case):
    """The same with a bearer session, so the customer's endpoints are reached."""
    case.call_and_validate(headers=BEARER, checks=CHECKS)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_a_long_fuzz_run_finds_no_server_error(case):
    """The long run: many more examples per endpoint, logged in half the time."""
    case.call_and_validate(checks=CHECKS)
