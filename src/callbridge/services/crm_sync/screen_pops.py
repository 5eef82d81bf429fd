"""Screen pops: look the customer up by the rules for the interaction's queue and direction,
keep what was found, and take the agent's pick when there were several."""

from __future__ import annotations

from dataclasses import replace

from callbridge.adapters.store.screen_pops import ScreenPopStore
from callbridge.domain.clock import Clock
from callbridge.domain.crm.records import CrmMatch, RecordRef
from callbridge.domain.crm.screen_pop import (
    Outcome,
    ScreenPop,
    ScreenPopRules,
    decide,
    lookups,
)
from callbridge.domain.errors import InvalidInput, InvalidState
from callbridge.domain.interactions import Interaction
from callbridge.ports import Crm


class ScreenPops:
    def __init__(
        self, crm: Crm, store: ScreenPopStore, clock: Clock, rules: ScreenPopRules
    ) -> None:
        self.crm, self.store, self.clock, self.rules = crm, store, clock, rules

    def resolve(self, ix: Interaction, *, refresh: bool = False) -> ScreenPop:
        """The screen pop of an interaction: looked up once, then read back (or again with
        `refresh`, keeping an earlier pick)."""
        known = self.store.get(ix.id)
        if known is not None and not refresh:
            return _with_prefill(known, ix, self.rules)
        tried = lookups(self.rules, ix)
        found: list[CrmMatch] = []
        for key, value in tried:
            found = self.crm.lookup(key, value)
            if found:
                break
        pop = decide(ix.id, tried, found)
        if known is not None and known.chosen is not None:
            pop = replace(pop, chosen=known.chosen, chosen_by=known.chosen_by)
        self.store.save(pop, self.crm.name, self.clock.now())
        return pop

    def choose(self, ix: Interaction, record: RecordRef, by: str) -> ScreenPop:
        """The agent picks the record the interaction is with: one of the matches, or a record
        they just created from the new-record form."""
        pop = self.resolve(ix)
        listed = {m.ref for m in pop.matches}
        if pop.outcome is Outcome.MULTIPLE and record not in listed:
            # a record made from the form, or found by searching: it must exist
            if self.crm.get_record(record) is None:
                raise InvalidInput(f"no {record.type.value} {record.id} in the CRM", field="id")
        elif pop.outcome is Outcome.SINGLE and record not in listed:
            raise InvalidState(
                "this interaction matched one record already; pick is only for several or none",
                field="id",
            )
        elif pop.outcome is Outcome.NONE and self.crm.get_record(record) is None:
            raise InvalidInput(f"no {record.type.value} {record.id} in the CRM", field="id")
        self.store.choose(ix.id, record, by)
        return replace(pop, chosen=record, chosen_by=by)


def _with_prefill(pop: ScreenPop, ix: Interaction, rules: ScreenPopRules) -> ScreenPop:
    if pop.outcome is not Outcome.NONE:
        return pop
    return replace(pop, prefill=decide(ix.id, lookups(rules, ix), []).prefill)
