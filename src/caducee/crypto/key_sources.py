"""One way to name a private key: a PKCS#8 file path or an RFC 7512 ``pkcs11:`` URI.

Both give an object with cryptography's private-key interface; a token key's operations run
on the token and the key never leaves it.
"""

from __future__ import annotations

import os

from caducee.crypto.keyfile import PrivateKey, load_key_file

__all__ = ["is_token_reference", "load_private_key"]


def is_token_reference(reference: str) -> bool:
    """True for a ``pkcs11:`` URI, False for a file path."""
    return reference.lower().startswith("pkcs11:")


def load_private_key(
    reference: str | os.PathLike[str], secret: str | None, *, module: str | None = None
) -> PrivateKey:
    """Open the key: ``secret`` is the file's passphrase or the token's PIN.

    A token's PIN may also come from the URI (``pin-value``/``pin-source``), so ``secret``
    may be None there. Raises ``WrongPassphrase``, ``TokenAbsent``, ``KeyNotFound``.
    """
    text = os.fspath(reference)
    if is_token_reference(text):
        from caducee.crypto.pkcs11_keys import load_token_key

        return load_token_key(text, secret, module=module)
    return load_key_file(text, (secret or "").encode())
