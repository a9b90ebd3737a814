"""Optional integrations of the library into web frameworks (SPEC W1).

Each lives in a subpackage of its own and needs its extra: the Django app,
:mod:`echoppe_accounts.contrib.django` (``pip install "echoppe-accounts[django]"``),
the Flask blueprint, :mod:`echoppe_accounts.contrib.flask`
(``pip install "echoppe-accounts[flask]"``), and the JSON API,
:mod:`echoppe_accounts.contrib.api` (``pip install "echoppe-accounts[fastapi]"``).
The core never imports them; the shop does. The Django app and the Flask
blueprint share the library's templates and catalogues and their
framework-neutral code (``_web``, ``_calls``).
"""
