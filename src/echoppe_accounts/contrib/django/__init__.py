"""The Django app of echoppe-accounts: the whole "Mon compte" area (SPEC W1–W4).

Add ``"echoppe_accounts.contrib.django"`` to ``INSTALLED_APPS``, its
middleware after Django's session and authentication middleware, an
``ECHOPPE = {...}`` dictionary to ``settings.py`` and
``path("compte/", include("echoppe_accounts.contrib.django.urls"))`` to the
URLs. The documentation page ``django.md`` says the rest. This package is
never imported by the library's core.

.. versionadded:: 0.2.0
"""
