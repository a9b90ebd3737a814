"""The JSON API: every "Mon compte" use case for single-page and mobile front ends.

Needs the ``fastapi`` extra (``pip install 'echoppe-accounts[fastapi]'``).
See :doc:`/api-http` for the endpoints, the session modes and CSRF.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from echoppe_accounts.contrib.api._app import create_app
from echoppe_accounts.contrib.api._errors import API_CODES, request_language
from echoppe_accounts.contrib.api._settings import ApiSettings

__all__ = ["API_CODES", "ApiSettings", "create_app", "request_language"]
