"""Isolation attacks: oracles (harness.attack.oracles) against the shipped schema.

Each family runs twice: its canonical cases (every table, function, mode ... once) and
Hypothesis-generated cases (as many as the HYPOTHESIS_PROFILE allows).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.attack import oracles
from harness.attack.base import Family
from scenarios.isolation.conftest import SCENARIO_SETTINGS, Attacker

FAMILIES = oracles.FAMILIES


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_canonical_cases(family: Family, attacker: Attacker) -> None:
    attacker.canonical(family)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
@SCENARIO_SETTINGS
@given(data=st.data())
def test_generated_cases(family: Family, attacker: Attacker, data: st.DataObject) -> None:
    attacker.generated(family, data)
