"""The electronic archive as the platform uses it, one module per concern.

`setup` (storage, seals, start-up check), `retention` (schedule), `search`, `exports` (verify
now, DIP, tenant export), `decisions` (end of DUA), `holds` (legal holds), `journal_checks`
(journal verification and entry proofs), `seals` (signature adapters). Sealing a case is the
`archiving.seal_case` operation; journal seals, fixity audits and timestamp renewals are
periodic jobs in `engine.jobs`.
"""
