"""The signatures package's error family: bad input and broken infrastructure only.

Invalid signatures are not errors: validation returns a report. Messages are French because
they reach users.
"""

from __future__ import annotations

__all__ = [
    "DocumentRefusedError",
    "KeyStoreError",
    "RevocationUnavailableError",
    "SignatureError",
    "SigningFailedError",
    "TimestampError",
]


class SignatureError(Exception):
    """Base of every error raised by the signatures package."""


class DocumentRefusedError(SignatureError):
    """The document cannot be signed (encrypted, corrupted, not a PDF, too big, locked)."""


class KeyStoreError(SignatureError):
    """The key store could not be opened or does not hold the expected key."""


class TimestampError(SignatureError):
    """The time-stamping authority could not be reached or gave an unusable answer."""


class SigningFailedError(SignatureError):
    """Signing failed for a reason other than the document or the key store."""


class RevocationUnavailableError(SigningFailedError):
    """The signer's revocation status could not be obtained (OCSP/CRL unreachable): retry later."""
