"""The integration core: screen pops, activity logging through the outbox, field mapping,
dialing lists and do-not-call sync, click-to-dial."""
