"""The fast tier: the pure rules over the in-memory unit of work (tests/fakes)."""
