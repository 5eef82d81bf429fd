"""Answering-machine detection: a short hello then silence is a person, a long greeting without
a pause is a machine, silence is unknown; verdicts depend only on the frames before them."""

from __future__ import annotations

import pytest
from campaign_fakes import uk_campaign
from hypothesis import given
from hypothesis import strategies as st

from callbridge.domain.dialer.amd import (
    FRAME_S,
    AmdDetector,
    AmdSettings,
    Answerer,
    GreetingEnd,
    classify,
    grace_start_s,
    voiced,
)
from callbridge.domain.dialer.calls import CallResult, DialOutcome, disposition_of
from callbridge.domain.dialer.campaign_file import CampaignFileError
from callbridge.domain.dialer.campaigns import MachineAction
from callbridge.domain.dialer.dispositions import MACHINE
from callbridge.domain.errors import InvalidInput

S = AmdSettings()


def frames(*parts: tuple[bool, float]) -> list[bool]:
    """(speaking, seconds) runs as 20 ms flags."""
    out: list[bool] = []
    for speaking, seconds in parts:
        out += [speaking] * round(seconds / FRAME_S)
    return out


def test_hello_then_silence_is_a_person_with_the_greeting_timed() -> None:
    result = classify(frames((False, 0.4), (True, 0.6), (False, 2.0)))
    assert result.answerer is Answerer.HUMAN
    assert result.speech_s == pytest.approx(0.4) and result.greeting_end_s == pytest.approx(1.0)
    assert result.decided_s == pytest.approx(1.8)  # 0.8 s of silence after the greeting
    assert "short greeting" in result.reason and result.words == 1


def test_a_long_greeting_without_a_pause_is_a_machine() -> None:
    result = classify(frames((False, 0.3), (True, 4.0), (False, 1.0)))
    assert result.answerer is Answerer.MACHINE and "longer than 2.5 s" in result.reason
    assert result.decided_s == pytest.approx(0.3 + 2.5 + FRAME_S)
    assert result.greeting_end_s is None


def test_many_words_with_short_gaps_are_a_machine() -> None:
    word, gap = (True, 0.25), (False, 0.2)
    result = classify(frames(word, gap, word, gap, word, gap, word, gap, word, (False, 1.0)))
    assert result.answerer is Answerer.MACHINE and "5 words" in result.reason


def test_silence_is_unknown_not_a_machine() -> None:
    result = classify(frames((False, 6.0)))
    assert result.answerer is Answerer.UNKNOWN and result.speech_s is None
    assert result.decided_s == pytest.approx(2.5)


def test_clicks_shorter_than_a_word_are_not_speech() -> None:
    clicks = frames(*[(True, 0.04), (False, 0.3)] * 10)
    assert classify(clicks).answerer is Answerer.UNKNOWN


def test_audio_ending_before_a_verdict_is_unknown() -> None:
    assert classify(frames((True, 1.0))).answerer is Answerer.UNKNOWN


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        AmdSettings(max_greeting_s=0)
    assert caught.value.details["field"] == "amd.max_greeting_s"
    with pytest.raises(InvalidInput):
        AmdSettings(total_analysis_s=1.0)


def test_the_grace_starts_at_the_completed_greeting_only_where_the_rule_says() -> None:
    person = classify(frames((False, 0.4), (True, 0.6), (False, 2.0)))
    assert grace_start_s(person, from_greeting=True) == pytest.approx(1.0)
    assert grace_start_s(person, from_greeting=False) == 0.0
    silent = classify(frames((False, 3.0)))
    assert grace_start_s(silent, from_greeting=True) == 0.0  # no greeting: from the answer


def test_the_end_of_a_machines_greeting_is_a_second_of_silence_or_the_limit() -> None:
    end = GreetingEnd(silence_s=1.0, max_s=3.0)
    assert not any(end.feed(v) for v in frames((True, 2.0), (False, 0.5)))
    assert [end.feed(v) for v in frames((False, 0.5))][-1]
    capped = GreetingEnd(silence_s=1.0, max_s=3.0)
    assert [capped.feed(v) for v in frames((True, 3.0))][-1]


def test_voiced_compares_each_frames_energy_with_the_threshold() -> None:
    assert voiced([0.0, 255.9, 256.0, 4000.0], 256.0) == [False, False, True, True]


runs = st.lists(
    st.tuples(st.booleans(), st.integers(min_value=1, max_value=150)), min_size=0, max_size=30
)


def flags(parts: list[tuple[bool, int]]) -> list[bool]:
    return [speaking for speaking, n in parts for _ in range(n)]


@given(runs)
def test_a_verdict_comes_within_the_analysis_time_and_only_from_the_past(
    parts: list[tuple[bool, int]],
) -> None:
    audio = flags(parts)
    result = classify(audio)
    assert result.decided_s <= S.total_analysis_s + 1e-9
    decided = round(result.decided_s / FRAME_S)
    if decided <= len(audio) and result.reason != "the audio ended before a verdict":
        # the same past with any other future gives the same verdict at the same moment
        assert classify(audio[:decided] + [not v for v in audio[decided:]]) == result
        assert classify(audio[:decided]) == result


@given(runs)
def test_feeding_frames_one_by_one_agrees_with_classify(parts: list[tuple[bool, int]]) -> None:
    audio = flags(parts)
    detector = AmdDetector()
    first = None
    for v in audio:
        got = detector.feed(v)
        if got is not None and first is None:
            first = got
        if first is not None:
            assert got == first  # final once given
    assert (first or detector.ended()) == classify(audio)


@given(
    st.floats(min_value=0.0, max_value=1.0),  # up to 1 + 2.5 + 0.8 s: inside the 5 s listened
    st.floats(min_value=S.min_word_s + FRAME_S, max_value=S.max_greeting_s - FRAME_S),
)
def test_one_short_word_then_silence_is_always_a_person(lead_s: float, word_s: float) -> None:
    result = classify(frames((False, lead_s), (True, word_s), (False, 1.0)))
    assert result.answerer is Answerer.HUMAN


@given(
    st.floats(min_value=0.0, max_value=2.0),
    st.floats(min_value=S.max_greeting_s + 2 * FRAME_S, max_value=10.0),
    runs,
)
def test_continuous_speech_past_the_greeting_limit_is_always_a_machine(
    lead_s: float, speech_s: float, after: list[tuple[bool, int]]
) -> None:
    result = classify(frames((False, lead_s), (True, speech_s)) + flags(after))
    assert result.answerer is Answerer.MACHINE


AMD_ON = "amd: on\n"


def test_amd_on_under_the_uk_profile_needs_a_false_positive_estimate() -> None:
    with pytest.raises(CampaignFileError, match=r"amd\.false_positive_share: under the uk"):
        uk_campaign("predictive", extra=AMD_ON)
    campaign, _ = uk_campaign(
        "predictive",
        extra="amd: {enabled: true, false_positive_share: 0.03, machine_action: message}\n",
    )
    assert campaign.amd.enabled and campaign.amd.machine_action is MachineAction.MESSAGE
    assert campaign.counted_false_positives == 0.03
    off, _ = uk_campaign("predictive", extra="amd: off\n")
    assert not off.amd.enabled and off.counted_false_positives == 0.0


def test_amd_is_refused_on_an_agentless_campaign() -> None:
    extra = (
        "amd: {enabled: true, false_positive_share: 0.03}\n"
        'agentless: {action: message, message: "Hello"}\n'
    )
    with pytest.raises(CampaignFileError, match=r"amd\.enabled: AMD is for campaigns with agents"):
        uk_campaign("agentless", agents="[]", extra=extra)


def test_a_detected_machine_is_not_a_live_answer_and_is_dispositioned_am() -> None:
    campaign, _ = uk_campaign(
        "predictive", extra="amd: {enabled: true, false_positive_share: 0.03}"
    )
    machine = CallResult(DialOutcome.ANSWERED, 0.0, 9.0, answered_at=4.0, machine=True)
    assert not machine.live and disposition_of(campaign, machine) is MACHINE
