"""The local stack: the pipeline's handlers on a moto server, behind a local API gateway.

The package itself is the AWS emulation core: what stands in for AWS and what Lambda and
EventBridge do around the functions (``aws`` with ``sqs_rules``, ``gateway`` with ``proxy``,
``pipe``, ``poller``, ``functions`` with ``context``), the local names, defaults and state
file, the generic loopback HTTP service, the webhook client (``client``, which ``make smoke``
also uses against a deployed stack), and ``stack``/``__main__``, which wire it together.
It imports nothing from its subpackages, so that it can be read and tested on its own;
only ``stack`` and ``__main__`` wire the demo in.

- ``local.demo``: the demo stand-ins for the parties outside the stack (the demo service
  desk with its page and ticket book, BigPanda's API) and the console features for people
  (the journey, the story, ``send``, ``status``, ``show`` and what they read with).
- ``local.fakes``: stateful fakes of the vendor desks' own APIs (Jira Cloud, ServiceNow),
  written from the vendors' documentation, for the tests of the desk adapters.
"""
