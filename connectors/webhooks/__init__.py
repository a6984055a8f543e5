"""Outgoing webhooks: signed, retried with backoff, only to public addresses."""
