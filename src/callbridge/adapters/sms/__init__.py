"""Outbound SMS: agents' replies to texts, handed to an SMS provider."""
