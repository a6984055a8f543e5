"""Detached seals and RFC 3161 timestamps against the real local PKI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devstack.pki import DevPki
from signatures.errors import KeyStoreError, SigningFailedError, TimestampError
from signatures.keys import Pkcs12Key
from signatures.seal import (
    SealIdentity,
    normalise_fingerprint,
    seal_detached,
    seal_identity,
    timestamp_bytes,
    verify_detached_seal,
    verify_timestamp,
)

pytestmark = pytest.mark.integration

DATA = b"racine de Merkle du journal: 9f86d081884c7d659a2feaa0c55ad015"


def _identity(pki: DevPki) -> tuple[SealIdentity, ...]:
    return (SealIdentity.of_certificate(pki.seal.cert_path.read_bytes()),)


def _seal(pki: DevPki, key=None, *, tsa: str | None = "", roots=None) -> bytes:
    return seal_detached(
        DATA,
        key=key or pki.seal.key,
        timestamp_url=pki.tsa_url if tsa == "" else tsa,
        trust_roots=pki.trust_roots if roots is None else roots,
    )


def test_seal_with_timestamp_verifies(dev_pki: DevPki) -> None:
    verdict = verify_detached_seal(
        DATA, _seal(dev_pki), trust_roots=dev_pki.trust_roots, expected=_identity(dev_pki)
    )
    assert verdict.valid, verdict.problems
    assert verdict.problems == ()
    assert verdict.signer == dev_pki.seal.display_name
    assert verdict.sealer == _identity(dev_pki)[0]
    assert verdict.timestamp is not None
    assert abs(verdict.timestamp - datetime.now(UTC)) < timedelta(minutes=1)


def test_seal_identity_of_the_key_store_is_its_certificate(dev_pki: DevPki) -> None:
    identity = seal_identity(dev_pki.seal.key)
    assert identity == _identity(dev_pki)[0]
    assert "Cachet serveur" in identity.subject
    assert {"digital_signature", "non_repudiation"} <= set(identity.key_usage)
    spaced = ":".join(identity.fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    assert normalise_fingerprint(spaced) == identity.fingerprint
    with pytest.raises(ValueError, match="Empreinte"):
        normalise_fingerprint("abcd")


def test_seal_without_timestamp_is_refused(dev_pki: DevPki) -> None:
    verdict = verify_detached_seal(
        DATA, _seal(dev_pki, tsa=None), trust_roots=dev_pki.trust_roots, expected=_identity(dev_pki)
    )
    assert not verdict.valid
    assert verdict.timestamp is None
    assert any("horodatage" in problem for problem in verdict.problems)


def test_seal_over_altered_data_is_invalid(dev_pki: DevPki) -> None:
    verdict = verify_detached_seal(
        DATA + b"!", _seal(dev_pki), trust_roots=dev_pki.trust_roots, expected=_identity(dev_pki)
    )
    assert not verdict.valid
    assert any("empreinte" in problem for problem in verdict.problems)


def test_seal_with_wrong_trust_root_is_invalid(dev_pki: DevPki, rogue_pki: DevPki) -> None:
    verdict = verify_detached_seal(
        DATA, _seal(dev_pki), trust_roots=rogue_pki.trust_roots, expected=_identity(dev_pki)
    )
    assert not verdict.valid
    assert any("confiance" in problem for problem in verdict.problems)


def test_seal_by_untrusted_signer_is_invalid(dev_pki: DevPki, rogue_pki: DevPki) -> None:
    seal = _seal(dev_pki, rogue_pki.seal.key, roots=())
    verdict = verify_detached_seal(
        DATA, seal, trust_roots=dev_pki.trust_roots, expected=_identity(rogue_pki)
    )
    assert not verdict.valid


def test_seal_by_another_certificate_of_the_same_ca_is_refused(dev_pki: DevPki) -> None:
    mayor = dev_pki.signer("Marie Dupont")
    verdict = verify_detached_seal(
        DATA,
        _seal(dev_pki, mayor.key),
        trust_roots=dev_pki.trust_roots,
        expected=_identity(dev_pki),
    )
    assert not verdict.valid
    assert verdict.signer == "Marie Dupont"
    assert any("pas le cachet désigné" in problem for problem in verdict.problems)


def test_without_an_expected_identity_nothing_is_accepted(dev_pki: DevPki) -> None:
    verdict = verify_detached_seal(
        DATA, _seal(dev_pki), trust_roots=dev_pki.trust_roots, expected=()
    )
    assert not verdict.valid
    assert any("Aucune identité de sceau attendue" in p for p in verdict.problems)


def test_revoked_seal_certificate_refuses_to_seal(dev_pki: DevPki) -> None:
    with pytest.raises(SigningFailedError, match="révoqué"):
        _seal(dev_pki, dev_pki.revoked_signer.key)


def test_revoked_certificate_is_refused_offline_and_online(dev_pki: DevPki) -> None:
    """A seal by a revoked certificate (here: the designated one), made without the check."""
    revoked = dev_pki.revoked_signer
    expected = (SealIdentity.of_certificate(revoked.cert_path.read_bytes()),)
    bare = _seal(dev_pki, revoked.key, roots=())
    offline = verify_detached_seal(DATA, bare, trust_roots=dev_pki.trust_roots, expected=expected)
    assert not offline.valid
    assert any("aucune donnée de révocation" in p for p in offline.problems)
    online = verify_detached_seal(
        DATA, bare, trust_roots=dev_pki.trust_roots, expected=expected, online=True
    )
    assert not online.valid
    assert any("révoqué" in p for p in online.problems)


def test_embedded_revocation_data_makes_offline_verification_hard(dev_pki: DevPki) -> None:
    seal = _seal(dev_pki)
    verdict = verify_detached_seal(
        DATA, seal, trust_roots=dev_pki.trust_roots, expected=_identity(dev_pki)
    )
    assert verdict.valid, verdict.problems
    online = verify_detached_seal(
        DATA, seal, trust_roots=dev_pki.trust_roots, expected=_identity(dev_pki), online=True
    )
    assert online.valid, online.problems


def test_expired_seal_certificate_is_refused(dev_pki: DevPki) -> None:
    expired = dev_pki.expired_signer
    expected = (SealIdentity.of_certificate(expired.cert_path.read_bytes()),)
    verdict = verify_detached_seal(
        DATA,
        _seal(dev_pki, expired.key, roots=()),
        trust_roots=dev_pki.trust_roots,
        expected=expected,
    )
    assert not verdict.valid
    assert any("expiré" in p for p in verdict.problems)


def test_garbage_seal_is_a_verdict_not_an_exception(dev_pki: DevPki) -> None:
    verdict = verify_detached_seal(
        DATA, b"\x30\x03\x02\x01\x00", trust_roots=dev_pki.trust_roots, expected=_identity(dev_pki)
    )
    assert not verdict.valid
    assert verdict.problems


def test_timestamp_token_verifies(dev_pki: DevPki) -> None:
    token = timestamp_bytes(DATA, tsa_url=dev_pki.tsa_url)
    verdict = verify_timestamp(DATA, token, trust_roots=dev_pki.trust_roots)
    assert verdict.valid, verdict.problems
    assert verdict.time is not None
    assert abs(verdict.time - datetime.now(UTC)) < timedelta(minutes=1)


def test_timestamp_over_altered_data_is_invalid(dev_pki: DevPki) -> None:
    token = timestamp_bytes(DATA, tsa_url=dev_pki.tsa_url)
    verdict = verify_timestamp(DATA + b"x", token, trust_roots=dev_pki.trust_roots)
    assert not verdict.valid
    assert verdict.time is not None


def test_timestamp_with_wrong_trust_root_is_invalid(dev_pki: DevPki, rogue_pki: DevPki) -> None:
    token = timestamp_bytes(DATA, tsa_url=dev_pki.tsa_url)
    verdict = verify_timestamp(DATA, token, trust_roots=rogue_pki.trust_roots)
    assert not verdict.valid
    assert any("confiance" in problem for problem in verdict.problems)


def test_unreachable_tsa_raises(dev_pki: DevPki) -> None:
    with pytest.raises(TimestampError):
        timestamp_bytes(DATA, tsa_url="http://127.0.0.1:9/tsa")


def test_wrong_passphrase_raises(dev_pki: DevPki) -> None:
    key = Pkcs12Key(path=dev_pki.seal.pkcs12_path, passphrase=b"wrong")
    with pytest.raises(KeyStoreError):
        seal_detached(DATA, key=key, timestamp_url=None)


def test_dev_pki_does_not_hand_out_keys(dev_pki: DevPki) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"http://127.0.0.1:{dev_pki.port}/pfx-download/dematflow-dev")
    caught.value.close()
    assert caught.value.code == 404


def test_embedded_revocation_data_is_encoded_once(dev_pki: DevPki) -> None:
    """Embedding the CRLs and OCSP responses keeps the bytes already encoded (the CRLs as their
    issuer signed them, the signer info as sealed): the same DER as encoding everything again,
    which cost half of a seal (bench_pipeline)."""
    from asn1crypto import cms

    seal = cms.ContentInfo.load(_seal(dev_pki))
    revocation = list(seal["content"]["crls"])
    assert revocation  # the dev PKI's CRLs and OCSP responses are there
    crls = [c.chosen for c in revocation if c.name == "crl"]
    assert crls
    # Re-encoding every value from the parsed structure gives the bytes of the seal back.
    again = cms.ContentInfo.load(seal.dump())
    assert again.dump(force=True) == seal.dump()
    for crl in crls:
        assert crl.dump() in seal.dump()
