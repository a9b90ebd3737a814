"""The service layer: use cases orchestrating the domain and the ports."""
