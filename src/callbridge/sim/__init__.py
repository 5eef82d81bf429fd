"""Simulated customers and agents that work the real services (the demo; later the simulator)."""
