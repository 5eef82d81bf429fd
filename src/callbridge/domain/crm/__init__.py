"""The CRM as the contact center sees it: records, matches, activities (pure, no I/O)."""
