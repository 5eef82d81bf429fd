"""`python -m callbridge` is the `callbridge` command."""

from callbridge.cli.main import app

app(prog_name="callbridge")
