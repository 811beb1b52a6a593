"""Constants and types shared by the desk stand-ins' tests (fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import urllib3

SNOW_USER = "pandabridge"
SNOW_PASSWORD = "snow-password-0123456789"
SNOW_TOKEN = "snow-oauth-token-0123456789"

# ``snow(method, path, body=None, timeout=2.0, auth=True, **query)``: one Table API call.
SnowCall = Callable[..., urllib3.BaseHTTPResponse]

DESK_SECRET = "desk-hmac-secret-0123456789"
# ``desk_call(method, path, document=None, timeout=2.0, headers=None)``: one signed contract call.
DeskCall = Callable[..., urllib3.BaseHTTPResponse]
