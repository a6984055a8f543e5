"""Periodic jobs (polling, audits, seals, renewals, timers, webhooks) driven by `runner`."""
