"""How many calls to place now: one pacer per dialing mode, each a function of the campaign's
state that returns a `PacingDecision` saying how many, why, and from what."""
