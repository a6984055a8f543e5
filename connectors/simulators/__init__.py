"""Simulators of outside services (the prefecture through a tiers de télétransmission)."""
