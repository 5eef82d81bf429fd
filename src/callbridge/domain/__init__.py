"""The pure core: interactions, agents, queues and the ACD. No I/O, no clock, no global RNG."""
