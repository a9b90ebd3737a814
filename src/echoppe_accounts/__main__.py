"""``python -m echoppe_accounts``: the ``echoppe-accounts`` command.

.. versionadded:: 0.2.0
"""

import sys

from echoppe_accounts.entrypoints._start import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m echoppe_accounts"))
