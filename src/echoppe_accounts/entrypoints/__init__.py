"""Entry points: the ``echoppe-accounts`` command and its configuration.

.. versionadded:: 0.2.0
"""
