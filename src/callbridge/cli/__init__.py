"""The `callbridge` command."""
