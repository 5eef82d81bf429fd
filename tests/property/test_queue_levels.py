"""Properties of a queue's escalation levels: each level only widens the pool, in time order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from callbridge.domain.agents import Agent
from callbridge.domain.ids import AgentId, GroupName, QueueId, SkillId
from callbridge.domain.queues import (
    AddGroup,
    DropSkill,
    EscalationStep,
    Queue,
    RelaxProficiency,
    Requirement,
    SkillRequirement,
)

SKILLS = tuple(SkillId(s) for s in ("en", "fr", "de", "billing", "tech"))
GROUPS = tuple(GroupName(g) for g in ("tier2", "backoffice", "supervisors"))
WAITS = st.floats(min_value=-5.0, max_value=500.0, allow_nan=False)


@st.composite
def queues(draw: st.DrawFn) -> Queue:
    """A queue with valid escalation steps, given in any order (the queue sorts them)."""
    skills = draw(st.lists(st.sampled_from(SKILLS), unique=True, max_size=4))
    base = tuple(SkillRequirement(s, draw(st.integers(1, 10))) for s in skills)
    required = {r.skill: r.min_proficiency for r in base}
    steps: list[EscalationStep] = []
    at = 0.0
    for _ in range(draw(st.integers(0, 6))):
        at += draw(st.sampled_from((0.0, 0.5, 10.0, 45.0))) if steps else 5.0
        relaxable = sorted(s for s, p in required.items() if p > 1)
        kinds = ["group"] + (["relax"] if relaxable else []) + (["drop"] if required else [])
        kind = draw(st.sampled_from(kinds))
        if kind == "relax":
            skill = draw(st.sampled_from(relaxable))
            required[skill] = draw(st.integers(1, required[skill]))
            steps.append(RelaxProficiency(at, skill, required[skill]))
        elif kind == "drop":
            skill = draw(st.sampled_from(sorted(required)))
            del required[skill]
            steps.append(DropSkill(at, skill))
        else:
            steps.append(AddGroup(at, draw(st.sampled_from(GROUPS))))
    # Steps at different times may come in any order; steps at the same time keep theirs.
    shuffled = draw(st.permutations(sorted({s.after_s for s in steps})))
    order = {t: i for i, t in enumerate(shuffled)}
    steps.sort(key=lambda s: order[s.after_s])
    return Queue(QueueId("q"), "Q", requirements=base, escalation=tuple(steps))


@st.composite
def agents(draw: st.DrawFn) -> Agent:
    skills = draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10)))
    groups = draw(st.frozensets(st.sampled_from(GROUPS), max_size=2))
    return Agent(AgentId("a"), "A", skills, groups=groups)


def narrower_or_equal(wider: Requirement, narrower: Requirement) -> bool:
    """Every skill `wider` asks for, `narrower` asks for at least as much; groups only grow."""
    asked = {r.skill: r.min_proficiency for r in narrower.skills}
    return (
        all(r.skill in asked and asked[r.skill] >= r.min_proficiency for r in wider.skills)
        and wider.groups >= narrower.groups
    )


@given(queues())
def test_levels_start_with_the_base_requirement_at_zero(queue: Queue) -> None:
    assert queue.levels[0].skills == queue.requirements
    assert queue.levels[0].groups == frozenset()
    assert queue.level_starts[0] == 0.0
    assert len(queue.levels) == len(queue.level_starts)


@given(queues())
def test_one_level_per_distinct_step_time_in_order(queue: Queue) -> None:
    times = sorted({s.after_s for s in queue.escalation})
    assert list(queue.level_starts) == [0.0, *times]


@given(queues())
def test_each_level_only_relaxes_the_one_before(queue: Queue) -> None:
    for before, after in zip(queue.levels, queue.levels[1:], strict=False):
        assert narrower_or_equal(after, before)


@given(queues(), agents())
def test_an_agent_qualifying_at_one_level_qualifies_at_every_later_one(
    queue: Queue, agent: Agent
) -> None:
    qualified = [agent.qualifies(req) for req in queue.levels]
    first = qualified.index(True) if True in qualified else len(qualified)
    assert qualified == [False] * first + [True] * (len(qualified) - first)


@given(queues(), agents())
def test_why_not_explains_exactly_the_levels_the_agent_misses(queue: Queue, agent: Agent) -> None:
    for req in queue.levels:
        assert (agent.why_not(req) is None) == agent.qualifies(req)


@given(queues(), WAITS, WAITS)
def test_level_at_is_monotone_in_the_wait(queue: Queue, a: float, b: float) -> None:
    shorter, longer = sorted((a, b))
    assert queue.level_at(shorter) <= queue.level_at(longer)


@given(queues(), WAITS)
def test_level_at_is_a_valid_level_whose_start_has_passed(queue: Queue, waited: float) -> None:
    level = queue.level_at(waited)
    assert 0 <= level < len(queue.levels)
    if waited >= 0:
        assert queue.level_starts[level] <= waited
    if level + 1 < len(queue.levels):
        assert waited < queue.level_starts[level + 1]


@given(queues())
def test_each_level_begins_exactly_at_its_start(queue: Queue) -> None:
    for level, start in enumerate(queue.level_starts):
        assert queue.level_at(start) == level
        if level:
            assert queue.level_at(start - 1e-6) == level - 1


@given(queues(), WAITS)
def test_next_level_after_is_when_level_at_next_changes(queue: Queue, waited: float) -> None:
    level = queue.level_at(waited)
    following = queue.next_level_after(waited)
    if level == len(queue.levels) - 1:
        assert following is None
    else:
        assert following is not None and following > waited
        assert queue.level_at(following) == level + 1
        assert queue.level_at((waited + following) / 2) == level
