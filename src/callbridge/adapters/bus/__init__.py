"""Event buses: in-process now; Redis Streams when the center spans machines."""
