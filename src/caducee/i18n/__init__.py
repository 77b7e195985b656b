"""French first, English second: message catalogues and locale negotiation.

Catalogues are plain dictionaries keyed by a stable message id (``status.title``), one
module per language, so a missing translation is a test failure, not a silent English word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from babel import Locale, negotiate_locale

from caducee.i18n import en, fr

__all__ = ["CATALOGUES", "DEFAULT_LOCALE", "LOCALES", "Translator", "negotiate", "translator"]

DEFAULT_LOCALE = "fr"
LOCALES = ("fr", "en")
CATALOGUES: Mapping[str, Mapping[str, str]] = {"fr": fr.MESSAGES, "en": en.MESSAGES}

Translator = Callable[..., str]


def negotiate(accept_language: str | None, explicit: str | None = None) -> str:
    """Pick ``fr`` or ``en`` from an explicit choice, then Accept-Language, then French."""
    if explicit in LOCALES:
        return str(explicit)
    if not accept_language:
        return DEFAULT_LOCALE
    wanted: list[str] = []
    for part in accept_language.split(","):
        tag = part.split(";", 1)[0].strip().replace("-", "_")
        if tag:
            wanted.append(tag)
    chosen = negotiate_locale(wanted, LOCALES) or _by_language(wanted, LOCALES)
    return chosen or DEFAULT_LOCALE


def _by_language(wanted: Iterable[str], available: Iterable[str]) -> str | None:
    for tag in wanted:
        try:
            language = Locale.parse(tag).language
        except (ValueError, TypeError):
            continue
        if language in available:
            return language
    return None


def translator(locale: str) -> Translator:
    """``_("id", name=value)``: the message in ``locale``, formatted with its arguments."""
    catalogue = CATALOGUES.get(locale, CATALOGUES[DEFAULT_LOCALE])

    def translate(message_id: str, /, **values: object) -> str:
        template = catalogue.get(message_id) or CATALOGUES[DEFAULT_LOCALE][message_id]
        return template.format(**values) if values else template

    return translate
