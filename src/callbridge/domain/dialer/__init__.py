"""Outbound campaigns: who may be called and when (compliance, calling hours, do-not-call,
attempt rules), and how fast (pacing, with an abandonment budget over the regulatory window).

Pure: the live dialer service and the dialer simulation (`callbridge.sim.dialer`) pass in the
time, the agents' states and the calls in flight, and act on what comes back.
docs/design/dialer.md explains the model; docs/reference/campaigns.md the campaign file.
"""
