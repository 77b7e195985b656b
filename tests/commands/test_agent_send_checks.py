"""`caducee agent send` applies the send page's checks: refusals, questions, --yes."""

from __future__ import annotations

import pytest
import typer

from caducee.agent.bulk_check import BulkAdvice, Concern, Cue
from caducee.agent.send_checks import SendPlan
from caducee.commands import agent as agent_command


def _advice(*concerns: Concern) -> BulkAdvice:
    return BulkAdvice(
        recipients=40, threshold=10, limit=20, concerns=concerns, cues=frozenset({Cue.SURVEY})
    )


def _answers(monkeypatch: pytest.MonkeyPatch, *replies: bool) -> list[str]:
    asked: list[str] = []
    queue = list(replies)

    def confirm(question: str, default: bool = False) -> bool:
        asked.append(question)
        return queue.pop(0)

    monkeypatch.setattr(agent_command.typer, "confirm", confirm)
    return asked


def test_a_refusal_stops_before_anything_is_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked = _answers(monkeypatch)
    plan = SendPlan(_advice(Concern.BULK_WITHOUT_PATIENT))
    with pytest.raises(typer.Exit) as stopped:
        agent_command._confirm_plan(plan, yes=True)  # --yes does not lift a refusal
    assert stopped.value.exit_code == 2 and asked == []
    out = capsys.readouterr().err  # the command talks on stderr: stdout is for message ids
    assert "40 destinataires" in out and "40 recipients" in out


def test_an_announcement_is_asked_and_no_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _answers(monkeypatch, False)
    plan = SendPlan(_advice(Concern.ANNOUNCEMENT), internal=("a@caducee.test",))
    with pytest.raises(typer.Exit):
        agent_command._confirm_plan(plan, yes=False)
    assert len(asked) == 1


def test_external_recipients_are_warned_and_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked = _answers(monkeypatch, True)
    plan = SendPlan(
        BulkAdvice(recipients=1, threshold=10, limit=20), external=("dr@ch.mssante.fr",)
    )
    agent_command._confirm_plan(plan, yes=False)
    assert len(asked) == 1
    out = capsys.readouterr().err  # the command talks on stderr: stdout is for message ids
    assert "dr@ch.mssante.fr" in out and "en clair" in out and "in clear" in out


def test_yes_answers_the_questions_and_a_plain_send_asks_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _answers(monkeypatch)
    both = SendPlan(_advice(Concern.ANNOUNCEMENT), external=("dr@ch.mssante.fr",))
    agent_command._confirm_plan(both, yes=True)
    agent_command._confirm_plan(
        SendPlan(BulkAdvice(recipients=1, threshold=10, limit=20), internal=("a@c.test",)),
        yes=False,
    )
    assert asked == []


def test_no_answer_is_no(monkeypatch: pytest.MonkeyPatch) -> None:
    def closed(question: str, default: bool = False) -> bool:
        raise typer.Abort()

    monkeypatch.setattr(agent_command.typer, "confirm", closed)
    with pytest.raises(typer.Exit):
        agent_command._confirm_plan(SendPlan(_advice(Concern.ANNOUNCEMENT)), yes=False)
