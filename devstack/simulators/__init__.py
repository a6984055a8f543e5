"""Simulators of outside services for development and tests: the prefecture behind a tiers de
télétransmission (@ctes) and a ProConnect-like OpenID provider."""
