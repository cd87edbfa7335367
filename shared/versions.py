"""What writers tell the api's processes when something they cache moves, over PostgreSQL
`NOTIFY`: the versions of periods (from scoring), the newest alert, the API keys; and what
ingest tells scoring: that events were stored.

A writer notifies in its own transaction, so the message is delivered at commit, after the rows
it speaks of are visible: a process that reads them once it heard of a change reads them at
that change or later. A listener that was away reads the tables again instead, so a message
only ever says what moved, never anything that exists nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

VERSIONS_CHANNEL = "chiso766_versions"
ALERTS_CHANNEL = "chiso766_alerts"
KEYS_CHANNEL = "chiso766_keys"
# Events were stored (no payload): scoring steps now rather than at its next idle poll.
EVENTS_CHANNEL = "chiso766_events"
# PostgreSQL refuses a payload of 8000 bytes or more; a step that moved more periods than fit
# (a backfill across a year of days) says only that its listeners must read the table again.
PAYLOAD_LIMIT = 7900


@dataclass(frozen=True, slots=True)
class MovedVersion:
    """A period's (or the catalogue's) version as one scoring partition now holds it."""

    key: str
    version: int
    restated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class VersionsMoved:
    partition: int
    # None: too many to name, read `period_versions` again.
    versions: tuple[MovedVersion, ...] | None
    # The instant the partition's counts now stand at.
    as_of: datetime


def versions_payload(moved: VersionsMoved) -> str:
    listed = None
    if moved.versions is not None:
        listed = [
            [v.key, v.version, v.restated_at.isoformat() if v.restated_at else None]
            for v in moved.versions
        ]
    body = {"p": moved.partition, "v": listed, "as_of": moved.as_of.isoformat()}
    payload = orjson.dumps(body).decode()
    if len(payload.encode()) > PAYLOAD_LIMIT:
        payload = orjson.dumps({**body, "v": None}).decode()
    return payload


def parse_versions(payload: str) -> VersionsMoved:
    body = orjson.loads(payload)
    listed = body["v"]
    return VersionsMoved(
        int(body["p"]),
        None
        if listed is None
        else tuple(
            MovedVersion(
                str(key), int(version), datetime.fromisoformat(restated) if restated else None
            )
            for key, version, restated in listed
        ),
        datetime.fromisoformat(body["as_of"]),
    )
