"""Identifiers of the dialer's own nouns (agents, skills, dispositions: `callbridge.domain.ids`)."""

from typing import NewType

CampaignId = NewType("CampaignId", str)
ListId = NewType("ListId", str)
RecordId = NewType("RecordId", str)
