"""Every state × every transition of the measure's state machine (DESIGN §5.1)."""

from __future__ import annotations

import pytest
from django_fsm import TransitionNotAllowed

from measures.choices import Stage
from measures.models import Measure

ALLOWED = {
    "identify": {Stage.DEFINED: Stage.IDENTIFIED},
    "detail": {Stage.IDENTIFIED: Stage.DETAILED},
    "decide": {Stage.DETAILED: Stage.DECIDED},
    "implement": {Stage.DECIDED: Stage.IMPLEMENTED},
    "close": {Stage.IMPLEMENTED: Stage.CLOSED},
    "hold": dict.fromkeys(
        [Stage.DEFINED, Stage.IDENTIFIED, Stage.DETAILED, Stage.DECIDED, Stage.IMPLEMENTED], Stage.ON_HOLD
    ),
    "resume": {Stage.ON_HOLD: Stage.DETAILED},
    "cancel": dict.fromkeys(
        [Stage.DEFINED, Stage.IDENTIFIED, Stage.DETAILED, Stage.DECIDED, Stage.IMPLEMENTED, Stage.ON_HOLD],
        Stage.CANCELLED,
    ),
}
ARGS = {"hold": ["reason"], "cancel": ["reason"]}


def _in_state(stage: str) -> Measure:
    # The state machine alone, without the database: the field is protected, so a fresh instance
    # is built in the wanted state the way Django loads one.
    measure = Measure(stage=stage, stage_before_hold=Stage.DETAILED if stage == Stage.ON_HOLD else "")
    return measure


@pytest.mark.parametrize("stage", Stage.values)
@pytest.mark.parametrize("name", list(ALLOWED))
def test_transition_table(stage, name):
    measure = _in_state(stage)
    target = ALLOWED[name].get(stage)
    if target is None:
        with pytest.raises(TransitionNotAllowed):
            getattr(measure, name)(*ARGS.get(name, []))
        assert measure.stage == stage
    else:
        getattr(measure, name)(*ARGS.get(name, []))
        assert measure.stage == target
        assert measure.version == 2


def test_stage_cannot_be_assigned_directly():
    measure = _in_state(Stage.DEFINED)
    with pytest.raises(AttributeError):
        measure.stage = Stage.CLOSED


def test_hold_remembers_and_resume_returns_to_the_doi_left():
    measure = _in_state(Stage.DECIDED)
    measure.hold("Budget freeze")
    assert (measure.stage, measure.stage_before_hold, measure.doi) == (Stage.ON_HOLD, Stage.DECIDED, 3)
    measure.resume()
    assert (measure.stage, measure.stage_before_hold, measure.doi) == (Stage.DECIDED, "", 3)


def test_closed_is_final():
    measure = _in_state(Stage.CLOSED)
    for name in ALLOWED:
        with pytest.raises(TransitionNotAllowed):
            getattr(measure, name)(*ARGS.get(name, []))
