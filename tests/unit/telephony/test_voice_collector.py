"""While voice is up the garbage collector is set for calls; afterwards it is as it was."""

from __future__ import annotations

import gc

from callbridge.adapters.telephony.voice import GC_YOUNG_THRESHOLD, collector_for_calls


def test_start_up_is_frozen_and_the_young_collected_less_often_until_voice_stops() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with collector_for_calls():
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > frozen_before
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
