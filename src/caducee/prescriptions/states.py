"""The Task state machine (gematik's E-Rezept workflow, ``GEM_ERP_PR_Task``).

    draft ──activate──▶ ready ──accept──▶ in-progress ──close──▶ completed
      │                  ▲  │                  │
      │                  └──┼──── reject ──────┘
      └──── abort ──────────┴──▶ cancelled ◀── abort (prescriber) / expire

Every action is idempotent: repeating the action that led to the current status is
answered with that status (the service then checks it is the same request), not an error.
"""

from __future__ import annotations

import enum

from caducee.prescriptions.errors import TransitionRefused

__all__ = ["Action", "TaskStatus", "next_status"]


class TaskStatus(enum.StrEnum):
    DRAFT = "draft"
    READY = "ready"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def open(self) -> bool:
        return self in (TaskStatus.DRAFT, TaskStatus.READY, TaskStatus.IN_PROGRESS)


class Action(enum.StrEnum):
    CREATE = "create"
    ACTIVATE = "activate"
    ACCEPT = "accept"
    REJECT = "reject"
    CLOSE = "close"
    ABORT = "abort"
    EXPIRE = "expire"


_S = TaskStatus
TRANSITIONS: dict[Action, tuple[frozenset[TaskStatus], TaskStatus]] = {
    Action.ACTIVATE: (frozenset({_S.DRAFT}), _S.READY),
    Action.ACCEPT: (frozenset({_S.READY}), _S.IN_PROGRESS),
    Action.REJECT: (frozenset({_S.IN_PROGRESS}), _S.READY),
    Action.CLOSE: (frozenset({_S.IN_PROGRESS}), _S.COMPLETED),
    Action.ABORT: (frozenset({_S.DRAFT, _S.READY}), _S.CANCELLED),
    Action.EXPIRE: (frozenset({_S.DRAFT, _S.READY}), _S.CANCELLED),
}


def next_status(current: TaskStatus, action: Action) -> TaskStatus:
    """The status after ``action``; ``TransitionRefused`` (saying the status) if not allowed.

    A prescription a pharmacy holds (in-progress) cannot be cancelled by the prescriber: the
    pharmacy must reject it first, so that nothing is half-dispensed.
    """
    if action is Action.CREATE:
        return TaskStatus.DRAFT
    sources, target = TRANSITIONS[action]
    if current not in sources:
        raise TransitionRefused(
            f"action « {action.value} » impossible : l'ordonnance est « {current.value} » / "
            f"action {action.value!r} not allowed: the prescription is {current.value!r}",
            status=current.value,
        )
    return target
