"""Outgoing webhooks: delivery of events to subscribers over HTTP."""
