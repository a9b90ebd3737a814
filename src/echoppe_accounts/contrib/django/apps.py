"""The Django app configuration: its label and its system checks."""

from __future__ import annotations

from django.apps import AppConfig


class EchoppeConfig(AppConfig):  # type: ignore[misc] # Django ships no type hints
    """The app ``echoppe_accounts.contrib.django``, labelled ``echoppe``.

    .. versionadded:: 0.2.0
    """

    name = "echoppe_accounts.contrib.django"
    label = "echoppe"
    verbose_name = "echoppe-accounts"

    def ready(self) -> None:
        """Register the system checks and forget the wiring when settings change."""
        from django.core.signals import setting_changed  # noqa: PLC0415

        from echoppe_accounts.contrib.django import checks, conf  # noqa: PLC0415

        checks.register()
        setting_changed.connect(conf.settings_changed, dispatch_uid="echoppe-conf")
