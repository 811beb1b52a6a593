"""On-call tooling for the deployed (or local) stack: ``.venv/bin/pandabridge-ops --help``.

Commands read and write the stack's resources through the same stores the functions use
(``pandabridge.stores``), so key formats, item shapes and archive keys exist once.
"""
