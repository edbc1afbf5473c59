"""Interleaved tenant sessions against a model of what each tenant owns.

``harness.attack.stateful``: tenants create, update, soft-delete and read rows (tables derived
from the catalog), in transactions that interleave; after every step each tenant must see
exactly its live rows and the committed rows must match the model.
"""

from __future__ import annotations

import pytest
from hypothesis import seed as hypothesis_seed
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from harness.attack.base import finding
from harness.attack.stateful import Divergence, machine_for
from harness.attack.world import World
from scenarios.isolation.conftest import SCENARIO_SETTINGS, record


def test_tenants_see_exactly_their_live_rows(attack_world: World) -> None:
    machine = machine_for(attack_world)
    if machine is None:
        pytest.skip("no tenant table with a simple insertable shape")
    examples = max(4, settings.default.max_examples // 10)  # ci: 6 runs of 15 steps
    config = settings(SCENARIO_SETTINGS, max_examples=examples, stateful_step_count=15)
    if attack_world.seed:
        machine = hypothesis_seed(attack_world.seed)(machine)
    try:
        run_state_machine_as_test(machine, settings=config)
    except Divergence as exc:
        last = machine.last
        record([finding(attack_world, "ATK050", ", ".join(s.subject.qualified
                                                          for s in machine.shapes),
                        f"Interleaved tenant sessions diverged from the model: {exc}",
                        [last.transcript] if last else [], {"divergence": str(exc)})])
        raise
