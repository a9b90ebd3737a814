"""Collect the example shop's module only where Flask is installed.

pytest imports every module of its test paths to look for doctests. Without
the ``example`` extra, ``shop.py`` cannot be imported: it is left out, and
its tests skip saying why (under ``CI=true`` they fail instead).
"""

try:
    import flask  # noqa: F401 (only whether it imports)
except ImportError:
    collect_ignore = ["flask_shop/shop.py"]
