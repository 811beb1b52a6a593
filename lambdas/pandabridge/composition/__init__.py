"""The composition root: builds each function's collaborators from its settings, the one place
that wires AWS clients, stores, secrets and the ticket target together, so handlers stay thin
and tests can build the same objects against moto.

One module per function, each importing exactly what its function builds: a handler imports
its own module and so loads, during its init, its collaborators and no other function's (the
callback function never loads the ticket stack, the authorizer never loads pydantic). Builders
are cached per process; those that read a secret re-read it at most every
``secrets.SECRET_MAX_AGE_SECONDS``.

- ``ingest``: the incident store.
- ``ticket_sync``: the reconciler (incident store, ticket states, ticket target, callback queue).
- ``callback``: the confirmer (callback ledger, BigPanda client).
- ``authorizer``: the valid bearer tokens.
- ``queues``: the queue control both consumers postpone and dead-letter with.
"""
