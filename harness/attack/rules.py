"""Rule ids of the dynamic attacks: one place for ids, severities and titles.

Ids are stable (reports and suppressions refer to them); ATK0xx, grouped by family:
00x reads, 01x writes, 02x oracles, 03x spoofing, 04x pooling, 05x stateful, 09x notes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: str
    title: str


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("ATK001", "critical", "another tenant's row is readable by primary key"),
    Rule("ATK002", "critical", "a scan with a predicate returns another tenant's rows"),
    Rule("ATK003", "critical", "a join between tenant tables returns another tenant's rows"),
    Rule("ATK004", "critical", "a view readable by the application returns another tenant's data"),
    Rule("ATK005", "critical", "a function executable by the application returns another "
                               "tenant's data"),
    Rule("ATK006", "critical", "COPY ... TO STDOUT returns another tenant's rows"),
    Rule("ATK007", "critical", "RETURNING of a write returns another tenant's rows"),
    Rule("ATK010", "critical", "UPDATE changed another tenant's rows"),
    Rule("ATK011", "critical", "DELETE removed another tenant's rows"),
    Rule("ATK012", "critical", "INSERT with another tenant's id was accepted"),
    Rule("ATK013", "high", "a row can reference another tenant's row (foreign key into B)"),
    Rule("ATK014", "critical", "a row can be moved to another tenant"),
    Rule("ATK015", "critical", "INSERT ... ON CONFLICT DO UPDATE changed another tenant's row"),
    Rule("ATK016", "critical", "a function executable by the application changed another "
                               "tenant's rows"),
    Rule("ATK019", "critical", "another tenant's rows changed during the attack run"),
    Rule("ATK020", "medium", "unique-violation oracle: a duplicate-key error reveals that "
                             "another tenant holds a key"),
    Rule("ATK021", "medium", "foreign-key oracle: an insert reveals that another tenant's row "
                             "exists"),
    Rule("ATK022", "medium", "ON CONFLICT oracle: the outcome of an upsert reveals another "
                             "tenant's key"),
    Rule("ATK023", "low", "EXPLAIN row estimates reveal values of another tenant"),
    Rule("ATK024", "medium", "planner statistics visible to the application show another "
                             "tenant's values"),
    Rule("ATK025", "low", "a sequence shared by tenants reveals another tenant's activity"),
    Rule("ATK026", "medium", "pg_stat_statements shows another tenant's statements"),
    Rule("ATK030", "critical", "the tenant context can be spoofed by setting it directly"),
    Rule("ATK031", "critical", "a copied tenant context (signature) is accepted in another "
                               "transaction"),
    Rule("ATK032", "critical", "the application role can switch to a role that sees another "
                               "tenant's rows"),
    Rule("ATK033", "critical", "an expired, revoked or tampered session token is accepted"),
    Rule("ATK040", "critical", "a tenant context survives the return of a pooled connection"),
    Rule("ATK050", "critical", "interleaved tenant sessions diverge from the ownership model"),
    Rule("ATK090", "info", "a tenant table has no rows for both tenants: its attacks are vacuous"),
    Rule("ATK091", "info", "an attack family was skipped"),
)}


def severity(rule: str) -> str:
    return RULES[rule].severity
