"""Realistic Japanese legal data for the harness: domain primitives, generators and loader.

``harness generate`` (datasets.cli) and the pytest fixtures (datasets.pytest_plugin) call
:func:`datasets.generate.generate_into`: plan the firms (datasets.plan, datasets.skeleton),
produce each tenant's rows family by family (datasets.families), COPY them tenant by tenant
(datasets.loader), rebuild indexes and ANALYZE on several connections (datasets.indexes).
Families, each skipped where its tables are missing: firms (tenant, users, data key,
sessions), parties (clients, contacts), adverse (parties, planted near-duplicates), cases,
calendar (hearings, deadlines), conflicts, documents and versions, search (V025; tokens,
trigram text and tsvector a sentence at a time: datasets.searchtext), billing with finance
and trust, comms (V026), rbac (V023), audit (V019). ``domain`` holds the schema-independent
primitives.
"""
