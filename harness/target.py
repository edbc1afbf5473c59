"""The database under test: how to reach it and how to act as a tenant in it.

Our schema is the default; another team's schema is described in ``[tool.harness.target]`` (or
by flags) without code changes:

    [tool.harness.target]
    app_role = "app_user"                 # the role the application logs in as
    tenant_column = "org_id"              # default tenant column
    tenant_columns = { "public.legacy_docs" = "owner_org" }   # per-table overrides
    tenants_table = "public.orgs"
    context_sql = "SELECT set_config('app.current_org', %(tenant)s, true)"
    schemas = ["public"]

``context_sql`` is run at the start of each transaction with ``%(tenant)s`` bound to the tenant
id; without it, the shipped schema's session tokens are used (``app.begin_session``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.config import Settings
from harness.errors import ConfigError

SESSION_TOKEN = "session_token"


@dataclass(frozen=True, slots=True)
class Target:
    app_role: str = "legal_app"
    tenant_column: str = "tenant_id"
    tenant_columns: Mapping[str, str] = field(default_factory=dict)
    tenants_table: str = "app.tenants"
    context_sql: str | None = None  # None: session tokens of the shipped schema
    schemas: tuple[str, ...] = ()  # empty: every non-system schema

    def column_for(self, qualified_table: str) -> str:
        return self.tenant_columns.get(qualified_table, self.tenant_column)

    @property
    def uses_session_tokens(self) -> bool:
        return self.context_sql is None


_KEYS = {"app_role", "tenant_column", "tenant_columns", "tenants_table", "context_sql", "schemas"}


def load_target(settings: Settings, overrides: Mapping[str, Any] | None = None) -> Target:
    """``[tool.harness.target]`` (via Settings.extra) overridden by non-None flag values."""
    section = dict(settings.extra.get("target", {}))
    unknown = set(section) - _KEYS
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(sorted(unknown))} in [tool.harness.target]",
            hint=f"known keys: {', '.join(sorted(_KEYS))}",
        )
    section.setdefault("app_role", settings.app_role)
    for key, value in (overrides or {}).items():
        if value is not None:
            section[key] = value
    if "schemas" in section:
        section["schemas"] = tuple(section["schemas"])
    context = section.get("context_sql")
    if context is not None and "%(tenant)s" not in context:
        raise ConfigError(
            f"context_sql {context!r} does not bind %(tenant)s",
            hint="write it like SELECT set_config('app.tenant', %(tenant)s, true)",
        )
    return Target(**section)
