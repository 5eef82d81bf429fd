"""The browser pages: server-rendered with Jinja2, made live by small ES modules."""
