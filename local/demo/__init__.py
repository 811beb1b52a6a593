"""The local stack's demo and console: what a person sees and uses around the AWS emulation.

The stand-ins for the parties outside the stack (``service_desk`` with ``ticket_book`` and
``desk_page``, ``bigpanda``), the console's lines (``console``, ``journey``, ``story``,
``function_logs``, ``readback``) and the console tools beside a running stack (``send``,
``status`` and ``show`` with ``inventory``). They build on the core in ``local``; the core
never imports them, except where ``local.stack`` and ``local.__main__`` wire them in.
"""
