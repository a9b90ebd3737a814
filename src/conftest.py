"""Keep the Django app's modules out of the doctest collection of the package.

pytest imports every module of ``src/echoppe_accounts`` to look for
doctests. The Django app's modules need the ``django`` extra and configured
settings to be imported; they hold no doctests, and their tests
(``tests/integration/test_django_*.py``) configure Django themselves.
"""

collect_ignore = ["echoppe_accounts/contrib/django"]
