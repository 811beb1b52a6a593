"""Stand-ins of the service desks, written from the vendors' documentation, for the tests."""
