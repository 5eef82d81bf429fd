"""Telephony adapters: SIP signalling (and, later, RTP media) for voice interactions."""
