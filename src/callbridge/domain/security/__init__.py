"""Who may do what: permissions, roles and the one check (pure, no I/O)."""
