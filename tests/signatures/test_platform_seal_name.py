"""The development PKI's seal is the platform's: it seals the packages of every tenant (the demo
commune's and the training space's), so its name and what verification reports name the
platform, never a collectivité."""

from __future__ import annotations

import pytest

from devstack.pki import SEAL_NAME, DevPki
from signatures.seal import SealIdentity, seal_detached, seal_identity, verify_detached_seal
from tests.fixtures.pki import DEMO_ORGANISATION

pytestmark = pytest.mark.integration


def test_the_seal_names_the_platform_as_verification_reports_it(dev_pki: DevPki) -> None:
    assert dev_pki.seal.display_name == SEAL_NAME
    identity = seal_identity(dev_pki.seal.key)
    assert "plateforme dematflow" in identity.subject
    assert DEMO_ORGANISATION not in identity.subject
    sealed = seal_detached(
        b"paquet", key=dev_pki.seal.key, timestamp_url=None, trust_roots=dev_pki.trust_roots
    )
    verdict = verify_detached_seal(
        b"paquet",
        sealed,
        trust_roots=dev_pki.trust_roots,
        expected=(SealIdentity.of_certificate(dev_pki.seal.cert_path.read_bytes()),),
    )
    assert verdict.signer == SEAL_NAME
