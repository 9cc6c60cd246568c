"""Shared checks of the test-suite: a bad scenario is refused with the field named."""

import pytest

from sim.scenario import ScenarioError, parse_scenario


def refused(data, field, *words) -> str:
    """parse_scenario(data) raises ScenarioError naming `field`, its message holding every
    one of `words`; the message, for further checks."""
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data)
    assert err.value.field == field, str(err.value)
    for w in words:
        assert w in str(err.value), str(err.value)
    return str(err.value)
