"""Kept for existing imports: the adapters now live in :mod:`engine.archive_seals`."""

from engine.archive_seals import (
    SignaturesSealer,
    SignaturesSealVerifier,
    SignaturesTimestamper,
    SignaturesTimestampVerifier,
)

__all__ = [
    "SignaturesSealVerifier",
    "SignaturesSealer",
    "SignaturesTimestampVerifier",
    "SignaturesTimestamper",
]
