"""Write a BigPanda incident with thousands of alerts, built from the vendor sample.

    .venv/bin/python -m events.large_incident 5000 > /tmp/large.json

Each alert is distinct (id, host, description, tags), so the payload compresses about as well
as a real one, not as well as copies of one alert would.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).with_name("sample.json")


def large_incident(alert_count: int, incident_id: str = "large-incident-0001") -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(SAMPLE.read_text())
    template = payload["incident"]["alerts"][0]
    alerts = []
    for n in range(alert_count):
        alert = copy.deepcopy(template)
        host = f"web-{n:05d}.prod.example.com"
        alert["id"] = f"{n:024x}"
        alert["description"] = f"CPU is {50 + n % 50}% on {host} (load {n % 17}.{n % 10})"
        alert["startedOn"] = alert["changedOn"] = alert["updatedOn"] = 1649576282 + n
        alert["tags"] = [
            {"name": "host", "value": host},
            {"name": "check", "value": "CPU"},
            {"name": "_cluster", "value": f"cluster-{n % 12}"},
            {"name": "run-book", "value": f"https://wiki.example.com/runbooks/{host}"},
            {"name": "load", "value": round(n / 7, 6)},
        ]
        alerts.append(alert)
    payload["incident"]["id"] = incident_id
    payload["incident"]["alerts"] = alerts
    return payload


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 5000
    json.dump(large_incident(count), sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
