"""CRM connectors behind the Crm port: the built-in CRM and Salesforce."""
