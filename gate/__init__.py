"""The release gate (``harness run``): an entry point above every layer.

It provisions PostgreSQL, checks the migrations, loads a dataset, scans, attacks, benchmarks,
and hands one ``RunResults`` to the report layer. It is the only code that composes the engine
(``harness``), ``datasets``, ``scenarios`` and ``report``; none of them import it.
"""
