"""The Salesforce connector: our own OAuth token request, simple-salesforce for REST, a
retrying and limit-aware call wrapper, and a local phone index for screen pops.

Setting it up: docs/guides/connect-salesforce.md.
"""
