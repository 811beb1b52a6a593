"""Stand-ins of the service desks' own APIs, written from the vendors' documentation rather
than from our adapters, for the tests and the local stack.

Each fake is stateful and in memory, served on a loopback port (``local.loopback``), and has
fault knobs (a Python API, and the same as ``/_fake/...`` control routes) so that a test can
set up a desk as customers really configure it and make it fail as the vendor's service does.
"""
