"""A conference: sessions whose outgoing audio is the mix of the others they may hear.

Used for three-way calls and supervision. Every participant's incoming audio is decoded through
its jitter buffer; on each tick the engine asks the conference to mix, and each participant's
session encodes and sends its own mix (see `mixer.py` for the arithmetic).

    conference = engine.conference()
    conference.add(customer)
    conference.add(agent)
    conference.add(supervisor, heard_by=NOBODY)     # listen: hears both, heard by none
    conference.whisper(supervisor, to=agent)        # only the agent hears the supervisor
    conference.barge(supervisor)                    # everybody hears everybody
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray

from callbridge.adapters.telephony.media.mixer import EVERYONE, Everyone, hearing_matrix, mix_frames
from callbridge.domain.errors import InvalidState

if TYPE_CHECKING:
    from callbridge.adapters.telephony.media.engine import MediaEngine
    from callbridge.adapters.telephony.media.session import RtpSession

Audience = Everyone | frozenset["RtpSession"]
NOBODY: Final[frozenset[RtpSession]] = frozenset()


class Conference:
    """A set of sessions mixed together, each with an audience (who hears it)."""

    def __init__(self, engine: MediaEngine) -> None:
        self._engine = engine
        self._heard_by: dict[RtpSession, Audience] = {}
        self._hears: NDArray[np.bool_] = np.zeros((0, 0), dtype=np.bool_)
        self.closed = False

    @property
    def participants(self) -> tuple[RtpSession, ...]:
        return tuple(self._heard_by)

    def add(self, session: RtpSession, heard_by: Audience = EVERYONE) -> None:
        """Join `session` (leaving any bridge or other conference); `heard_by` who hears it."""
        if self.closed:
            raise InvalidState("the conference is closed")
        if session.conference is not None and session.conference is not self:
            session.conference.remove(session)
        session.disconnect()
        session.conference = self
        self._heard_by[session] = heard_by
        self._rebuild()
        self._engine.refresh(session)

    def audience(self, session: RtpSession) -> Audience:
        """Who hears `session` (EVERYONE, or the set of sessions)."""
        if session not in self._heard_by:
            raise InvalidState("not in this conference", port=session.local_port)
        return self._heard_by[session]

    def set_heard_by(self, session: RtpSession, heard_by: Audience) -> None:
        if session not in self._heard_by:
            raise InvalidState("not in this conference", port=session.local_port)
        self._heard_by[session] = heard_by
        self._rebuild()

    def listen(self, session: RtpSession) -> None:
        """`session` hears everyone and nobody hears it (supervisor listen)."""
        self.set_heard_by(session, NOBODY)

    def whisper(self, session: RtpSession, to: RtpSession) -> None:
        """Only `to` hears `session` (supervisor coaching the agent)."""
        self.set_heard_by(session, frozenset({to}))

    def barge(self, session: RtpSession) -> None:
        """Everyone hears `session`."""
        self.set_heard_by(session, EVERYONE)

    def remove(self, session: RtpSession) -> None:
        if self._heard_by.pop(session, None) is None:
            return
        session.conference = None
        session.mix_out = None
        for other, audience in list(self._heard_by.items()):
            if isinstance(audience, frozenset) and session in audience:
                self._heard_by[other] = audience - {session}
        self._rebuild()
        self._engine.refresh(session)

    def close(self) -> None:
        """Remove everyone; the sessions stay open."""
        for session in list(self._heard_by):
            self.remove(session)
        self.closed = True
        self._engine.forget_conference(self)

    def _rebuild(self) -> None:
        members = list(self._heard_by)
        self._hears = hearing_matrix(members, list(self._heard_by.values()))

    def mix_tick(self) -> None:
        """Phase 2 of a tick: give each participant the mix it hears."""
        members = list(self._heard_by)
        if not members:
            return
        mixed = mix_frames([m.heard for m in members], self._hears)
        for member, row in zip(members, mixed, strict=True):
            member.mix_out = row
