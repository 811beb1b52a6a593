"""The local stack: the pipeline's handlers on a moto server, behind a local API gateway."""
