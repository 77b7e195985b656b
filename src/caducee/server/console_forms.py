"""What every console page and form shares: the page, the CSRF token, the refusals.

Every page needs the operator's session (the cookie set by ``/console/login``); without it
a page redirects to the login. Every form posts the session's CSRF token (an HMAC of the
session: a page of another site cannot know it) and is answered with the page: the result,
or a clear error in both languages with nothing written.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from caducee.server.console_common import operator_session
from caducee.server.pages import render, request_locale
from caducee.server.state import ServerState
from caducee.stats.labels import TYPE_LABELS

__all__ = [
    "MESSAGES",
    "FormError",
    "csrf_token",
    "done",
    "login_redirect",
    "read_form",
    "refusal",
    "render_page",
    "too_long",
    "whole_number",
]

log = logging.getLogger(__name__)
CSRF_LABEL = b"caducee-console-csrf-v1"

# Every refusal a form may show: (French, English), formatted with the form's values.
MESSAGES = {
    "too-long": ("Trop long : au plus {most} caractères.", "Too long: at most {most} characters."),
    "range": ("Un nombre entier de {low} à {high}.", "A whole number from {low} to {high}."),
    "digits": ("Un numéro {what} compte {length} chiffres.",
               "A {what} number has {length} digits."),
    "luhn": (
        "Numéro {what} refusé : sa clé de Luhn (le dernier chiffre) est fausse ; "
        "numéro falsifié ou mal recopié.",
        "{what} number refused: its Luhn key (the last digit) is wrong; "
        "a forged or mistyped number.",
    ),
    "name": ("Le nom est obligatoire.", "The name is required."),
    "type": ("Choisissez un type.", "Choose a type."),
    "beds": ("Seul un EHPAD déclare un nombre de lits.",
             "Only a nursing home has a number of beds."),
    "registered": ("L’établissement {finess} est déjà enregistré.",
                   "Establishment {finess} is already registered."),
    "given_name": ("Le prénom du responsable est obligatoire.",
                   "The manager's given name is required."),
    "family_name": ("Le nom du responsable est obligatoire.",
                    "The manager's family name is required."),
    "profession": ("La profession du responsable est obligatoire.",
                   "The manager's profession is required."),
    "mailbox": ("Une adresse de messagerie valide est obligatoire (nom@domaine).",
                "A valid mailbox address is required (name@domain)."),
    "taken": ("L’adresse {address} est déjà attribuée.", "The address {address} is already taken."),
    "failed": ("Enregistrement refusé.", "{reason}"),
    "charter-length": ("Le texte de la charte compte de 1 à {most} caractères.",
                       "The charter's text is 1 to {most} characters."),
    "charter-same": ("Ce texte est celui de la version en vigueur : rien à publier.",
                     "This text is the current version's: nothing to publish."),
    "scope": (
        "Portée inconnue : *, kind:TYPE_DE_BOÎTE, type:TYPE, type:TYPE:TYPE_DE_BOÎTE, "
        "org:FINESS ou org:FINESS:TYPE_DE_BOÎTE.",
        "Unknown scope: *, kind:MAILBOX_KIND, type:TYPE, type:TYPE:MAILBOX_KIND, "
        "org:FINESS or org:FINESS:MAILBOX_KIND.",
    ),
    "no-organisation": ("Aucun établissement {finess} dans l’annuaire.",
                        "No organisation {finess} in the directory."),
    "decision": ("Décision impossible (message retenu n°{hold}).", "{reason}"),
    "no-mailbox": ("Aucune boîte {address!r} dans l’annuaire.",
                   "No mailbox {address!r} in the directory."),
    "level": ("Choisissez un niveau.", "Choose a level."),
    "reason": ("Le motif est obligatoire : l’expéditeur le verra.",
               "The reason is required: the sender will see it."),
    "not-current": ("Aucune sanction en cours n°{sanction} : rien à lever.",
                    "No current sanction #{sanction}: nothing to lift."),
}  # fmt: skip


@dataclass(frozen=True)
class FormError:
    """One refusal of a form, in both languages; ``field`` names the input at fault."""

    field: str
    fr: str
    en: str


def refusal(field: str, code: str, **values: Any) -> FormError:
    """The refusal ``code`` of :data:`MESSAGES` for ``field``, in both languages."""
    french, english = MESSAGES[code]
    return FormError(field, french.format(**values), english.format(**values))


def csrf_token(session: str) -> str:
    """The forms' token for a session: stable for the session, unknown to other sites."""
    return hmac.new(session.encode(), CSRF_LABEL, hashlib.sha256).hexdigest()


def render_page(
    request: Request, state: ServerState, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """A console template in the request's language, with what every page shows."""
    locale = request_locale(request)

    def t(french: str, english: str) -> str:
        return french if locale == "fr" else english

    session = operator_session(request, state)
    return render(
        request,
        template,
        {
            "t": t,
            "types": TYPE_LABELS,
            "support_contact": state.settings.support_contact,
            "support_hours": state.settings.support_hours,
            "support": f"{state.settings.support_contact} · {state.settings.support_hours}",
            "operator": state.settings.operator_name,
            "csrf": csrf_token(session) if session else "",
            "path": request.url.path,
            **context,
        },
        status_code=status,
    )


def login_redirect() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303)


def done(path: str) -> RedirectResponse:
    """After a form that changed something: back to a page (a reload does not post again)."""
    return RedirectResponse(path, status_code=303)


async def read_form(request: Request, state: ServerState) -> dict[str, str] | Response:
    """The form's fields, or the answer refusing it: no session, a wrong token, a NUL."""
    session = operator_session(request, state)
    if session is None:
        return login_redirect()
    form = await request.form()
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    sent = values.pop("csrf", "").encode()
    if not hmac.compare_digest(sent, csrf_token(session).encode()):
        log.warning("console form %s refused: wrong or missing CSRF token", request.url.path)
        return render_page(request, state, "console/refused.html", status=403, reason="csrf")
    if any("\x00" in v for v in values.values()):
        return render_page(request, state, "console/refused.html", status=400, reason="nul")
    return values


def too_long(values: dict[str, str], lengths: dict[str, int]) -> list[FormError]:
    """A refusal for each field longer than its limit in ``lengths``."""
    return [
        refusal(name, "too-long", most=most)
        for name, most in lengths.items()
        if len(values.get(name, "")) > most
    ]


def whole_number(
    value: str, field: str, low: int, high: int
) -> tuple[int | None, FormError | None]:
    """An integer in ``[low, high]``, or the error saying the range."""
    if value.isascii() and value.isdigit() and len(value) <= 12 and low <= int(value) <= high:
        return int(value), None
    french, english = MESSAGES["range"]
    fr_low, fr_high = (f"{n:,}".replace(",", "\u202f") for n in (low, high))
    en_low, en_high = f"{low:,}", f"{high:,}"
    return None, FormError(
        field, french.format(low=fr_low, high=fr_high), english.format(low=en_low, high=en_high)
    )
