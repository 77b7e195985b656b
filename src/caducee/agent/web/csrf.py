"""The local pages' CSRF check: a form must carry the token this process put in its pages."""

from __future__ import annotations

import hmac
from collections.abc import Callable

__all__ = ["forgery_check"]


def forgery_check(csrf: str) -> Callable[[str], bool]:
    """``forged(token)``: whether a form's token is not this process's (constant time)."""

    def forged(token: str) -> bool:
        return not hmac.compare_digest(token.encode(), csrf.encode())

    return forged
