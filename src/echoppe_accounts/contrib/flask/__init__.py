"""The Flask blueprint of echoppe-accounts: the whole "Mon compte" area (SPEC W1–W4).

::

    from flask import Flask
    from echoppe_accounts import Settings, sqlite_app
    from echoppe_accounts.contrib.flask import EchoppeAccounts

    app = Flask(__name__)
    app.config["SECRET_KEY"] = ...
    EchoppeAccounts(
        app,
        lambda links: sqlite_app(
            "accounts.sqlite3",
            "mailbox",
            Settings(base_url="https://www.lechoppe.fr", **links),
        ),
    )

The documentation page ``flask.md`` says the rest. This package needs the
``flask`` extra (Flask and Flask-WTF) and is never imported by the
library's core.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from echoppe_accounts.contrib.flask._extension import (
    BLUEPRINT,
    Customer,
    EchoppeAccounts,
    current_customer,
    customer_required,
    get_app,
    link_paths,
)

__all__ = [
    "BLUEPRINT",
    "Customer",
    "EchoppeAccounts",
    "current_customer",
    "customer_required",
    "get_app",
    "link_paths",
]
