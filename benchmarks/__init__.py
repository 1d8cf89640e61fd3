"""Performance scenarios that print JSON figures."""
