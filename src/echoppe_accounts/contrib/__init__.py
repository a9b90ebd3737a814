"""Optional integrations of the library into web frameworks (SPEC W1).

Each lives in a subpackage of its own and needs its extra: the Django app,
:mod:`echoppe_accounts.contrib.django` (``pip install "echoppe-accounts[django]"``),
and the JSON API, :mod:`echoppe_accounts.contrib.api`
(``pip install "echoppe-accounts[fastapi]"``). The core never imports them;
the shop does.
"""
