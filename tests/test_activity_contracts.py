"""Every activity the workflow declares (workflows/activity_contracts.py) is implemented under its
name, with the same argument and result types, so the workflow's typed calls hold at run time."""

import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

import pytest
from temporalio import activity

from activities.notifications import Notifier
from activities.recorder import Recorder
from activities.stage_clock import stage_clock
from workflows import activity_contracts

IMPLEMENTATIONS: dict[str, Callable[..., Any]] = {
    "stage_clock": stage_clock,
    "record_event": Recorder.record_event,
    "notify": Notifier.notify,
}


def signature(function: Callable[..., Any]) -> tuple[list[Any], Any]:
    hints = get_type_hints(function)
    names = [name for name in inspect.signature(function).parameters if name != "self"]
    return [hints[name] for name in names], hints["return"]


@pytest.mark.parametrize("name", sorted(IMPLEMENTATIONS))
def test_the_implementation_keeps_the_declared_contract(name: str) -> None:
    declared = getattr(activity_contracts, name)
    implemented = IMPLEMENTATIONS[name]

    assert activity._Definition.must_from_callable(implemented).name == (
        activity._Definition.must_from_callable(declared).name
    )
    assert inspect.iscoroutinefunction(implemented)
    assert signature(implemented) == signature(declared)


def test_every_declared_activity_is_implemented() -> None:
    declared = {
        name
        for name, value in vars(activity_contracts).items()
        if activity._Definition.from_callable(value) is not None
    }
    assert declared == set(IMPLEMENTATIONS)
