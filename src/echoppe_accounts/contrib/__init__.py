"""Optional integrations of the library into web frameworks (SPEC W1).

Each lives in a subpackage of its own and needs its extra
(``pip install 'echoppe-accounts[fastapi]'`` for :mod:`echoppe_accounts.contrib.api`);
the core never imports them.
"""
