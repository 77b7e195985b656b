"""The prescriptions API as the agent calls it (with the agent's ``ServerClient`` login).

Refusals arrive as ``ServerError`` carrying the server's stable code and its French/English
reason, which the pages show as they are. Every call is :meth:`ServerClient.request_once`:
no network retries (a person is waiting at the counter), a fresh login only when the token
itself is refused, card access in an ``X-Card-Access`` header.
"""

from __future__ import annotations

import base64
from typing import Any

from caducee.agent.client import ServerClient

__all__ = ["PrescriptionAPI"]

API = "/api/v1/prescriptions"


class PrescriptionAPI:
    """The prescriptions routes, one method each, on the agent's client."""

    def __init__(self, client: ServerClient) -> None:
        self.client = client

    def _json(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        response = self.client.request_once(method, API + path, auth=auth, headers=headers, **kw)
        answer: dict[str, Any] = response.json()
        return answer

    # prescriber
    def create(self) -> dict[str, Any]:
        return self._json("POST", "/tasks")

    def activate(self, task_id: str, signed: bytes) -> dict[str, Any]:
        body = {"signed_bundle": base64.b64encode(signed).decode("ascii")}
        return self._json("POST", f"/tasks/{task_id}/activate", json=body)

    def abort(self, task_id: str) -> dict[str, Any]:
        return self._json("POST", f"/tasks/{task_id}/abort")

    def mine(self) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = self._json("GET", "/tasks")["tasks"]
        return tasks

    def view(self, task_id: str, access_code: str | None = None) -> dict[str, Any]:
        params = {"ac": access_code} if access_code else {}
        return self._json("GET", f"/tasks/{task_id}", params=params)

    def drugs(self, text: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._json("GET", "/drugs", params={"q": text})["drugs"]
        return found

    # pharmacy
    def accept(
        self, task_id: str, *, access_code: str | None = None, card: str | None = None
    ) -> dict[str, Any]:
        headers = {"X-Card-Access": card} if card and not access_code else {}
        body = {"access_code": access_code} if access_code else None
        return self._json("POST", f"/tasks/{task_id}/accept", json=body, headers=headers)

    def reject(self, task_id: str, secret: str) -> dict[str, Any]:
        return self._json("POST", f"/tasks/{task_id}/reject", json={"secret": secret})

    def close(self, task_id: str, secret: str, dispense: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"secret": secret, "dispense": dispense}
        return self._json("POST", f"/tasks/{task_id}/close", json=body)

    def patient_open(self, card: str) -> list[dict[str, Any]]:
        found = self._json("GET", "/patient/prescriptions", headers={"X-Card-Access": card})
        tasks: list[dict[str, Any]] = found["tasks"]
        return tasks

    def patient_history(self, card: str) -> list[dict[str, Any]]:
        found = self._json(
            "GET", "/patient/history", params={"consent": "true"}, headers={"X-Card-Access": card}
        )
        tasks: list[dict[str, Any]] = found["tasks"]
        return tasks

    def receipt_key(self) -> bytes:
        return base64.b64decode(self._json("GET", "/receipt-key", auth=False)["key"])

    # the card (``auth=False``: the patient's own page, no mailbox)
    def card_challenge(self, *, patient: bool) -> dict[str, Any]:
        return self._json("POST", "/card/challenge", auth=not patient)

    def card_access(
        self, challenge: str, certificate: bytes, signature: bytes, *, patient: bool
    ) -> dict[str, Any]:
        body = {
            "challenge": challenge,
            "certificate": base64.b64encode(certificate).decode("ascii"),
            "signature": base64.b64encode(signature).decode("ascii"),
        }
        return self._json("POST", "/card/access", auth=not patient, json=body)

    def access_log(self, card: str) -> dict[str, Any]:
        return self._json("GET", "/me/access-log", auth=False, headers={"X-Card-Access": card})

    def set_history_refusal(self, card: str, refused: bool) -> dict[str, Any]:
        return self._json(
            "PUT",
            "/me/history-refusal",
            auth=False,
            json={"refused": refused},
            headers={"X-Card-Access": card},
        )
