"""harness: tenant-isolation and performance test harness for PostgreSQL 15.

The engine layer: configuration, errors, PostgreSQL provisioning, Flyway-compatible
migrations, tenant sessions, catalog introspection, checks and crypto. It never imports
``scenarios``, ``datasets`` or ``report``.
"""

from __future__ import annotations

__version__ = "0.1.0"
