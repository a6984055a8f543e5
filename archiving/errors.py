"""The archiving error family: bad input and broken infrastructure (verdicts are values)."""

from __future__ import annotations

__all__ = [
    "ArchivingError",
    "InvalidManifestError",
    "InvalidPackageInputError",
    "JournalSealError",
    "ObjectLockMissingError",
    "PackageNotFoundError",
    "RetentionActiveError",
    "StorageError",
    "StorageUnavailable",
    "VerificationFailedError",
]


class ArchivingError(Exception):
    """Base of every error raised by :mod:`archiving` (messages in French)."""


class InvalidPackageInputError(ArchivingError):
    """The description of a package is unusable (missing file, bad name, bad identifier)."""


class InvalidManifestError(ArchivingError):
    """A SEDA manifest does not validate against the official XSDs: it is never stored."""

    def __init__(self, message: str, problems: tuple[str, ...]) -> None:
        super().__init__(message)
        self.problems = problems


class StorageError(ArchivingError):
    """The object store refused an operation; retrying the same call will not help."""


class StorageUnavailable(StorageError):
    """The object store cannot be reached or answered with a transient error: retry later."""

    retryable = True


class ObjectLockMissingError(StorageError):
    """The bucket has no Object Lock: archiving into it is refused."""


class VerificationFailedError(StorageError):
    """An object read back after writing does not match what was sent: nothing is reported stored."""


class PackageNotFoundError(StorageError):
    """No package with this identifier is stored for this tenant."""


class RetentionActiveError(StorageError):
    """Destruction refused: a retention period or a legal hold still protects the package."""


class JournalSealError(ArchivingError):
    """The journal entries given cannot be sealed (gap, overlap, empty batch)."""
