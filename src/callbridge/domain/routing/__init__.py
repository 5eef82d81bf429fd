"""The ACD: which agent gets which interaction, and why."""
