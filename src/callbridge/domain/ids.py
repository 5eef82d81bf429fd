"""The typed vocabulary of identifiers, so an agent id can never be passed as an interaction id."""

from typing import NewType

AgentId = NewType("AgentId", str)
InteractionId = NewType("InteractionId", str)
QueueId = NewType("QueueId", str)
SkillId = NewType("SkillId", str)
DispositionCode = NewType("DispositionCode", str)
GroupName = NewType("GroupName", str)
