"""Value types of a PDF validation report, and their French wording."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import x509

__all__ = [
    "CertificateInfo",
    "SignatureReport",
    "TimestampInfo",
    "ValidationReport",
    "certificate_info",
    "trust_problem_fr",
]

_TRUST_FR = {
    "NO_CERTIFICATE_CHAIN_FOUND": "n'est rattaché à aucune autorité de confiance",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": "a une chaîne de certification invalide",
    "REVOKED_NO_POE": "est révoqué",
    "REVOKED_CA_NO_POE": "dépend d'une autorité révoquée",
    "OUT_OF_BOUNDS_NO_POE": "est expiré ou pas encore valide",
    "OUT_OF_BOUNDS_NOT_REVOKED": "est expiré ou pas encore valide",
    "EXPIRED": "est expiré",
    "NOT_YET_VALID": "n'est pas encore valide",
    "TRY_LATER": "n'a pas de statut de révocation disponible",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": "a des données de révocation périmées",
    "CHAIN_CONSTRAINTS_FAILURE": "ne respecte pas les contraintes de la chaîne",
    "SIG_CONSTRAINTS_FAILURE": "n'est pas autorisé à cet usage",
    "CRYPTO_CONSTRAINTS_FAILURE": "utilise un algorithme refusé",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "utilise un algorithme refusé",
    "NO_POE": "n'est couvert par aucune preuve d'existence pendant sa validité",
}


def trust_problem_fr(indication: Any, who: str) -> str:
    """French sentence for a pyHanko AdES indication about the certificate of ``who``."""
    name = getattr(indication, "name", None)
    if name is None:
        return f"Le certificat {who} n'est pas de confiance."
    return f"Le certificat {who} {_TRUST_FR.get(name, 'n’est pas de confiance')} ({name})."


@dataclass(frozen=True)
class CertificateInfo:
    """One certificate as shown in a report."""

    subject: str
    """Subject common name (or full subject)."""
    issuer: str
    """Issuer, human readable."""
    serial: str
    """Serial number, hexadecimal."""
    not_before: datetime
    """Start of validity."""
    not_after: datetime
    """End of validity."""
    sha256: str
    """Hex SHA-256 of the DER certificate."""


def certificate_info(cert: x509.Certificate) -> CertificateInfo:
    """Describe an asn1crypto certificate."""
    subject = cert.subject.native.get("common_name") or cert.subject.human_friendly
    validity = cert["tbs_certificate"]["validity"]
    return CertificateInfo(
        subject=str(subject),
        issuer=str(cert.issuer.human_friendly),
        serial=format(cert.serial_number, "x"),
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
        sha256=hashlib.sha256(cert.dump()).hexdigest(),
    )


@dataclass(frozen=True)
class TimestampInfo:
    """A signature timestamp or a document timestamp."""

    kind: str
    """"signature" (RFC 3161 token in the CMS) or "document" (PAdES document timestamp)."""
    time: datetime | None
    """Certified time."""
    authority: str
    """Common name of the TSA certificate."""
    valid: bool
    """Intact, correctly signed and from a trusted TSA."""
    problem: str
    """French description of what is wrong ("" when valid)."""


@dataclass(frozen=True)
class SignatureReport:
    """Everything found about one signature; ``valid`` is the bottom line."""

    field_name: str
    """Signature field name."""
    signer: str
    """Signer's common name."""
    signer_certificate: CertificateInfo | None
    """Signing certificate."""
    chain: tuple[CertificateInfo, ...]
    """Certificates from the signer up to (excluding) the trust anchor."""
    trust_anchor: str | None
    """Trust anchor the chain ends at, None when no trusted chain was found."""
    claimed_signing_time: datetime | None
    """Signing time stated by the signer (not proven)."""
    revocation_status: str
    """"bon", "révoqué" or "inconnu"."""
    revocation_checked_at: datetime | None
    """When the revocation data used was produced (or fetched)."""
    timestamps: tuple[TimestampInfo, ...]
    """Signature timestamp(s)."""
    pades_level: str | None
    """PAdES baseline level reached (B-B, B-T, B-LT, B-LTA), None when not PAdES."""
    modification: str
    """French summary of the modification analysis of later revisions."""
    covers_whole_file: bool
    """True when the byte range covers the whole file (last signature)."""
    problems: tuple[str, ...]
    """Every problem found, in French."""

    @property
    def valid(self) -> bool:
        """The bottom line: no problem at all."""
        return not self.problems

    @property
    def summary(self) -> str:
        """One French sentence."""
        if self.valid:
            return f"Signature de {self.signer} valide ({self.pades_level or 'non PAdES'})."
        return f"Signature de {self.signer or 'inconnu'} NON VALIDE : {self.problems[0]}"

    @classmethod
    def unreadable(cls, field_name: str, problem: str) -> SignatureReport:
        """Report for a signature that could not even be parsed."""
        return cls(
            field_name=field_name,
            signer="",
            signer_certificate=None,
            chain=(),
            trust_anchor=None,
            claimed_signing_time=None,
            revocation_status="inconnu",
            revocation_checked_at=None,
            timestamps=(),
            pades_level=None,
            modification="inconnues",
            covers_whole_file=False,
            problems=(problem,),
        )


@dataclass(frozen=True)
class ValidationReport:
    """Validation of a whole document."""

    sha256: str
    """Hex SHA-256 of the file validated."""
    size: int
    """Size of the file in bytes."""
    signatures: tuple[SignatureReport, ...]
    """One report per signature, in file order."""
    document_timestamps: tuple[TimestampInfo, ...]
    """PAdES document timestamps (B-LTA)."""
    validated_at: datetime
    """When the validation ran."""
    online_revocation: bool
    """Whether revocation data could be fetched online."""
    problems: tuple[str, ...]
    """Document-level problems (no signature, invalid document timestamp)."""

    @property
    def valid(self) -> bool:
        """True only when there is at least one signature and everything is valid."""
        return not self.problems and all(s.valid for s in self.signatures)

    @property
    def summary(self) -> str:
        """The bottom line, in French."""
        if self.valid:
            return f"Document valide : {len(self.signatures)} signature(s) valide(s)."
        invalid = sum(1 for s in self.signatures if not s.valid)
        if invalid:
            return f"Document NON VALIDE : {invalid} signature(s) sur {len(self.signatures)} invalide(s)."
        return f"Document NON VALIDE : {self.problems[0]}"

    @classmethod
    def build(
        cls,
        *,
        sha256: str,
        size: int,
        signatures: tuple[SignatureReport, ...],
        document_timestamps: tuple[TimestampInfo, ...],
        validated_at: datetime,
        online_revocation: bool,
    ) -> ValidationReport:
        """Assemble a report and derive the document-level problems."""
        problems = []
        if not signatures:
            problems.append("Le document ne contient aucune signature.")
        problems.extend(
            f"Horodatage de document non valide : {ts.problem}"
            for ts in document_timestamps
            if not ts.valid
        )
        return cls(
            sha256=sha256,
            size=size,
            signatures=signatures,
            document_timestamps=document_timestamps,
            validated_at=validated_at,
            online_revocation=online_revocation,
            problems=tuple(problems),
        )
