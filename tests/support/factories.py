"""Small factories for events in the contract format."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import orjson

_ids = itertools.count(1)


def dossier_event(
    dossier_code: str,
    status: str,
    at: datetime,
    *,
    unit_code: str = "SO-TP",
    event_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id or f"ev-{next(_ids)}",
        "schema_version": 1,
        "source": "test",
        "occurred_at": at.isoformat(),
        "dossier_code": dossier_code,
        "unit_code": unit_code,
        "status": status,
    }
    for name, value in fields.items():
        event[name] = value.isoformat() if isinstance(value, datetime) else value
    return event


def received(
    dossier_code: str, at: datetime, *, due_in: timedelta = timedelta(days=5), **fields: Any
) -> dict[str, Any]:
    fields.setdefault("procedure_code", "1.001")
    fields.setdefault("channel", "ONLINE")
    return dossier_event(dossier_code, "RECEIVED", at, received_at=at, due_at=at + due_in, **fields)


def rating(dossier_code: str, value: str, at: datetime, unit_code: str = "SO-TP") -> dict[str, Any]:
    return {
        "event_id": f"ev-{next(_ids)}",
        "schema_version": 1,
        "source": "test",
        "occurred_at": at.isoformat(),
        "type": "RATING",
        "dossier_code": dossier_code,
        "unit_code": unit_code,
        "rating": value,
    }


def unit_event(code: str, name: str, level: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"unit-{next(_ids)}",
        "schema_version": 1,
        "source": "test",
        "occurred_at": at.isoformat(),
        "type": "UNIT",
        "unit_code": code,
        "name": name,
        "level": level,
        **fields,
    }


def encode(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


def feedback_event(
    feedback_id: str, status: str, at: datetime, *, unit_code: str = "SO-TP", **fields: Any
) -> dict[str, Any]:
    return {
        "event_id": f"fb-{next(_ids)}",
        "schema_version": 1,
        "source": "test",
        "occurred_at": at.isoformat(),
        "type": "FEEDBACK",
        "feedback_id": feedback_id,
        "unit_code": unit_code,
        "status": status,
        **fields,
    }


def procedure_event(code: str, at: datetime, **fields: Any) -> dict[str, Any]:
    fields.setdefault("levels", ["DEPARTMENT"])
    fields.setdefault("online_service", "NONE")
    return {
        "event_id": f"proc-{next(_ids)}",
        "schema_version": 1,
        "source": "test",
        "occurred_at": at.isoformat(),
        "type": "PROCEDURE",
        "procedure_code": code,
        "name": f"Thủ tục {code}",
        **fields,
    }


def publication_event(
    procedure_code: str, at: datetime, decision: date, effective: date, **fields: Any
) -> dict[str, Any]:
    return {
        "event_id": f"pub-{next(_ids)}",
        "schema_version": 1,
        "source": "test",
        "occurred_at": at.isoformat(),
        "type": "PUBLICATION",
        "procedure_code": procedure_code,
        "decision_date": decision.isoformat(),
        "legal_effective_date": effective.isoformat(),
        **{k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()},
    }
