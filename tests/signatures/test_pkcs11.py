"""Signing through a real PKCS#11 token (SoftHSM2): the key never leaves the token."""

from __future__ import annotations

import dataclasses
import os
import traceback
from pathlib import Path

import pytest

from devstack.pki import DevPki
from signatures.errors import KeyStoreError
from signatures.keys import Pkcs11Key
from signatures.pades import PadesLevel, SignRequest, sign_pdf
from signatures.seal import SealIdentity, seal_detached, verify_detached_seal
from signatures.validation import ValidationOptions, validate_pdf
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration


def test_b_lta_through_softhsm_validates_offline(
    dev_pki: DevPki, softhsm_key: Pkcs11Key, tmp_path: Path
) -> None:
    signed = sign_pdf(
        make_pdf(),
        SignRequest(
            key=softhsm_key,
            signer_display_name="Jean Martin",
            level=PadesLevel.B_LTA,
            timestamp_url=dev_pki.tsa_url,
            trust_roots=dev_pki.trust_roots,
        ),
    )
    assert signed.signer_certificate_name == "Jean Martin"
    report = validate_pdf(signed.pdf, ValidationOptions(trust_roots=dev_pki.trust_roots))
    assert report.valid, report.signatures[0].problems
    assert report.signatures[0].pades_level == "B-LTA"


def test_detached_seal_through_softhsm(dev_pki: DevPki, softhsm_key: Pkcs11Key) -> None:
    seal = seal_detached(
        b"journal", key=softhsm_key, timestamp_url=dev_pki.tsa_url, trust_roots=dev_pki.trust_roots
    )
    jean = SealIdentity.of_certificate(dev_pki.signer("Jean Martin").cert_path.read_bytes())
    verdict = verify_detached_seal(
        b"journal", seal, trust_roots=dev_pki.trust_roots, expected=(jean,)
    )
    assert verdict.valid, verdict.problems
    assert verdict.signer == "Jean Martin"


def test_wrong_pin_is_a_key_store_error(softhsm_key: Pkcs11Key) -> None:
    with pytest.raises(KeyStoreError):
        seal_detached(b"x", key=dataclasses.replace(softhsm_key, pin="000000"), timestamp_url=None)


def test_unknown_key_label_is_a_key_store_error(softhsm_key: Pkcs11Key) -> None:
    with pytest.raises(KeyStoreError):
        seal_detached(
            b"x", key=dataclasses.replace(softhsm_key, cert_label="nobody"), timestamp_url=None
        )


def test_a_forked_worker_opens_its_own_token_session(
    dev_pki: DevPki, softhsm_key: Pkcs11Key
) -> None:
    request = SignRequest(
        key=softhsm_key,
        signer_display_name="Jean Martin",
        level=PadesLevel.B_B,
        trust_roots=dev_pki.trust_roots,
        convert_to_pdfa=False,
    )
    sign_pdf(make_pdf(), request)  # the parent now holds a cached session
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child process
        status = 1
        try:
            os.close(read_end)
            signed = sign_pdf(make_pdf(text="Enfant"), request)
            os.write(write_end, signed.signer_certificate_name.encode())
            status = 0
        except BaseException:
            os.write(write_end, traceback.format_exc().encode())
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, answer.decode()
    assert answer == b"Jean Martin"
    # The parent's session still works after the child used the token.
    assert sign_pdf(make_pdf(), request).signer_certificate_name == "Jean Martin"
