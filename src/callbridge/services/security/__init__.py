"""Security use cases: accounts, sessions and tokens, the audit log, personal data at rest."""
