"""``manage.py echoppe``."""
