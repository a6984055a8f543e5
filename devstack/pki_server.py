"""`certomancer animate` for the development PKI, its own RSA keys loaded without OpenSSL's
consistency check (`python -m devstack.pki_server` takes certomancer's arguments).

certomancer loads a private key for every certificate it issues at start-up and again for every
timestamp, OCSP response and CRL it signs; the check of an RSA key costs about 37 ms of CPU
each time, several times the signature itself. These keys are the ones `devstack.pki` generated
in this PKI's directory, not keys received from anyone."""

from __future__ import annotations

from devstack.pki import own_keys_unchecked


def main() -> None:
    from certomancer.cli import cli

    with own_keys_unchecked():
        cli(prog_name="certomancer")


if __name__ == "__main__":
    main()
