"""Performance scenarios: latency budgets at named data scales, RLS overhead, scaling,
concurrency (locust, pgbench) and migration timing. See README.md beside this file."""
