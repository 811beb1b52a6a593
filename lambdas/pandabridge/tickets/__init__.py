"""Service-desk tickets: the model, the mapping from incidents, one adapter per target."""
