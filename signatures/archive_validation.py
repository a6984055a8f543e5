"""Archive validation of one PDF signature: ETSI EN 319 102-1 AdES-LTA, with local data only.

The chain of PAdES document timestamps is the evidence record: it proves that the signature
and its validation data (the DSS) existed while the signer's certificate was valid, so a
B-LTA signature stays valid after that certificate expires. Nothing is fetched: only the
revocation data inside the document (DSS, signed revocation attribute) is used. A signature
without a later document timestamp (B-B, B-T, B-LT) gets no proof of existence and is
INDETERMINATE once its certificate expires, or already now when revocation data is missing.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.ades.report import AdESStatus
from pyhanko.sign.validation import errors as validation_errors
from pyhanko.sign.validation.ades import AdESLTAValidationResult, ades_lta_validation
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from signatures.verdicts import trust_problem_fr

__all__ = ["ades_lta_problem", "archive_spec"]

_INDICATION_FR = {
    "PASSED": "valide",
    "INDETERMINATE": "indéterminée",
    "FAILED": "en échec",
}


def archive_spec(
    trust_roots: tuple[bytes, ...], extra_certs: tuple[bytes, ...], revocation_mode: str
) -> PdfSignatureValidationSpec:
    """The AdES validation policy of an archive: the caller's roots, local revocation data only."""
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(
            trust_roots=[x509.Certificate.load(der) for der in trust_roots]
        ),
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy.from_legacy(revocation_mode)),
    )
    signature_spec = SignatureValidationSpec(
        cert_validation_policy=policy,
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
        ),
    )
    _ = extra_certs  # intermediates come from the signature and the DSS, as in an archive
    return PdfSignatureValidationSpec(signature_validation_spec=signature_spec)


def _verdict_problem(result: AdESLTAValidationResult) -> str | None:
    indication = result.ades_subindic
    if indication.status is AdESStatus.PASSED:
        return None
    status = _INDICATION_FR.get(indication.status.name, indication.status.name)
    return (
        f"Validation d'archivage (AdES-LTA) {status} : "
        + trust_problem_fr(indication, "du signataire")
        + (
            " Aucune preuve d'existence (horodatage de document) ne couvre la signature."
            if result.oldest_evidence_record_timestamp is None
            else ""
        )
    )


async def ades_lta_problem(
    sig: EmbeddedPdfSignature, spec: PdfSignatureValidationSpec, *, validation_time: datetime
) -> str | None:
    """The AdES-LTA verdict on ``sig`` at ``validation_time``: None when PASSED, else why.

    The signer's certificate is judged at the time proven by the document timestamps, with
    the revocation data inside the document only.
    """
    timing = ValidationTimingInfo(
        validation_time=validation_time,
        best_signature_time=validation_time,
        point_in_time_validation=False,
    )
    try:
        result = await ades_lta_validation(sig, spec, timing_info=timing)
    except (validation_errors.SignatureValidationError, PdfError, ValueError) as exc:
        return f"Validation d'archivage (AdES-LTA) impossible : {exc}"
    return _verdict_problem(result)
