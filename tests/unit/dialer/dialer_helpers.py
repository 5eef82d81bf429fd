"""Shared makings for the dialer's unit tests: a campaign that has learnt the base scenario,
states to pace, and campaigns built the way a campaign file builds them."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from callbridge.domain.dialer.campaign_file import parse_campaign
from callbridge.domain.dialer.campaigns import Campaign
from callbridge.domain.dialer.pacing.budget import AbandonmentLimits
from callbridge.domain.dialer.pacing.estimates import CampaignEstimates
from callbridge.domain.dialer.pacing.predictive import PredictivePacer

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York


def learnt(live_rate: float = 0.3, seed: int = 7, calls: int = 3000) -> CampaignEstimates:
    """Estimates after `calls` attempts of the base scenario (2.4 of the reference)."""
    rng = random.Random(seed)
    est = CampaignEstimates()
    for _ in range(calls):
        if rng.random() < live_rate:
            est.observe_attempt(True, rng.uniform(5.0, 15.0))
        else:
            kind = rng.random()
            after = 25.0 if kind < 0.6 else rng.uniform(8.0, 18.0) if kind < 0.85 else 4.0
            est.observe_attempt(False, after)
    for _ in range(calls // 3):
        est.observe_talk(rng.expovariate(1 / 120.0))
        est.observe_wrap(15.0)
    return est


def pacer(live_rate: float = 0.3, target: float = 0.025) -> PredictivePacer:
    return PredictivePacer(AbandonmentLimits(0.03, target), estimates=learnt(live_rate))


CAMPAIGN = """
campaign: renewals
name: Spring renewals
mode: predictive
compliance: {profile: us}
time_zone: America/New_York
caller_id: "+12125550100"
seller: {name: Acme Insurance, phone: "+12125550199"}
lists: [{list: march}]
"""


def campaign(text: str = CAMPAIGN) -> Campaign:
    return parse_campaign(text, "renewals.yaml")
