"""Cross-tenant isolation attacks on the shipped schema (``nox -s isolation``)."""
