"""What only development, the tests and the embedded default need: the development PKI, the S3
dev server, the simulators (prefecture, OpenID provider), the mail drop, the demo seeding and
the embedded launcher behind `dematflow serve`. It may import everything; nothing in the
product imports it (the CLI names its commands by module path only)."""
