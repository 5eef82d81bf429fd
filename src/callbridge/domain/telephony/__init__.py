"""Telephony as the domain sees it, without the wire protocol: the registrar's location service
(`registrations`), which says where an agent's phones can be reached."""
