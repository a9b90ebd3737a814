"""The domain: values, the account aggregate and its rules; no I/O, no clock."""
