"""Optional integrations of the library into web frameworks (SPEC W1).

Nothing here is imported by the core: each integration needs its extra
(``pip install "echoppe-accounts[django]"``) and is imported by the shop.
"""
