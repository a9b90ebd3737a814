"""Adapters: the ports implemented for memory, SQLite, mailboxes and the system."""
