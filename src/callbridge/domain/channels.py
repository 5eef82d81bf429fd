"""Media channels and directions."""

from enum import StrEnum


class Channel(StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"
    SMS = "sms"
    VOICEMAIL = "voicemail"  # a message a caller left, routed like any other work


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


DEFAULT_CAPACITY: dict[Channel, int] = {
    Channel.VOICE: 1,
    Channel.CHAT: 3,
    Channel.EMAIL: 2,
    Channel.SMS: 3,
    Channel.VOICEMAIL: 1,
}
