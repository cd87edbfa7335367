"""Event contract v1: what the one-stop systems send, validated.

`parse_events(raw, now=...)` is the door for Kafka records: the events a record holds (a contract
event, or the parts of a national sync record) and a `Refusal` with a readable reason for each part
it refuses. `parse_record` validates one contract event. Neither raises on bad input.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.jsontext import NUL_REASON, holds_nul
from shared.national import Part, is_national, read_national

SCHEMA_VERSION = 1
MAX_EVENT_BYTES = 64 * 1024
# A national sync envelope carries many items; Kafka's default limit on a message.
MAX_RECORD_BYTES = 1024 * 1024
# Dates before this are data-entry errors, not dossiers (the one-stop systems started in 2018).
EARLIEST_PLAUSIBLE = datetime(2015, 1, 1, tzinfo=UTC)
LATEST_PLAUSIBLE = datetime(2100, 1, 1, tzinfo=UTC)
# Source clocks drift; an event dated further ahead than this is refused.
MAX_CLOCK_SKEW = timedelta(hours=1)

# The characters of a code or an id. Their lengths are bounds of their own, not a repetition in
# the pattern: `{1,64}` of a Unicode class cost as much as the rest of a small event's validation.
CODE_PATTERN = r"^[\w.\-/:]+$"
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=CODE_PATTERN)]
EVENT_ID_LENGTH = 128
EventId = Annotated[
    str, StringConstraints(min_length=1, max_length=EVENT_ID_LENGTH, pattern=CODE_PATTERN)
]
_CODE = re.compile(CODE_PATTERN)
Name = Annotated[str, StringConstraints(min_length=1, max_length=255, strip_whitespace=True)]


def format_instant(instant: datetime) -> str:
    """UTC, fixed width: stored times then compare as strings in time order."""
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


# A time with its offset; stored (JSON mode) as `format_instant` writes it.
Instant = Annotated[AwareDatetime, PlainSerializer(format_instant, when_used="json")]


class DossierStatus(StrEnum):
    SUBMITTED = "SUBMITTED"
    RECEIVED = "RECEIVED"
    NOT_ACCEPTED = "NOT_ACCEPTED"
    IN_PROGRESS = "IN_PROGRESS"
    SUPPLEMENT_REQUESTED = "SUPPLEMENT_REQUESTED"
    PAYMENT_REQUESTED = "PAYMENT_REQUESTED"
    SUPPLEMENTED = "SUPPLEMENTED"
    WITHDRAWN = "WITHDRAWN"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    RESULT_RETURNED = "RESULT_RETURNED"
    REJECTED = "REJECTED"


class Channel(StrEnum):
    DIRECT = "DIRECT"
    ONLINE = "ONLINE"
    POSTAL = "POSTAL"


class Rating(StrEnum):
    SATISFIED = "SATISFIED"
    UNSATISFIED = "UNSATISFIED"


class FeedbackStatus(StrEnum):
    RECEIVED = "RECEIVED"
    TRANSFERRED = "TRANSFERRED"
    IN_PROGRESS = "IN_PROGRESS"
    SUPPLEMENT_REQUESTED = "SUPPLEMENT_REQUESTED"
    ANSWERED = "ANSWERED"
    PUBLISHED = "PUBLISHED"
    REJECTED = "REJECTED"


class FeedbackCategory(StrEnum):
    REGULATION = "REGULATION"
    STAFF_CONDUCT = "STAFF_CONDUCT"


class UnitLevel(StrEnum):
    PROVINCE = "PROVINCE"
    DEPARTMENT = "DEPARTMENT"
    COMMUNE = "COMMUNE"


def _check_past(value: datetime | None, info: ValidationInfo) -> datetime | None:
    """A time that has happened: not absurdly old, not ahead of the ingest clock."""
    value = _check_plausible(value)
    now = (info.context or {}).get("now")
    if value is not None and now is not None and value > now + MAX_CLOCK_SKEW:
        raise ValueError(f"{value.isoformat()} is in the future")
    return value


def _check_plausible(value: datetime | None) -> datetime | None:
    """The time in UTC, if plausible. Converted first: comparing times of two different time
    zones asks each for its offset, and pydantic's zones answer slowly. The year is looked at
    before, so that converting a time near the calendar's ends cannot overflow."""
    if value is None:
        return None
    if EARLIEST_PLAUSIBLE.year - 1 <= value.year <= LATEST_PLAUSIBLE.year:
        utc = value.astimezone(UTC)
        if EARLIEST_PLAUSIBLE <= utc <= LATEST_PLAUSIBLE:
            return utc
    raise ValueError(
        f"{value.isoformat()} is outside {EARLIEST_PLAUSIBLE.year}-{LATEST_PLAUSIBLE.year}"
    )


class _EventBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    event_id: EventId
    schema_version: Literal[1]
    source: Name
    occurred_at: Instant

    _occurred_in_the_past = field_validator("occurred_at")(_check_past)


class _DossierFacts(_EventBase):
    """What a one-stop system states of a dossier. Fields left out are unknown, not false."""

    dossier_code: Code
    unit_code: Code
    procedure_code: Code | None = None
    received_at: Instant | None = None
    due_at: Instant | None = None
    channel: Channel | None = None
    synced_to_national_portal: bool | None = None
    fee_required: bool | None = None
    paid_online: bool | None = None
    e_result_issued: bool | None = None
    digitized: bool | None = None
    reused_data: bool | None = None
    personal_store_linked: bool | None = None
    population_data_used: bool | None = None
    complaint: bool | None = None
    paper_result_required: bool | None = None

    _received_in_the_past = field_validator("received_at")(_check_past)
    _plausible_due_at = field_validator("due_at")(_check_plausible)

    @model_validator(mode="after")
    def _due_after_receipt(self) -> _DossierFacts:
        if self.received_at and self.due_at and self.due_at < self.received_at:
            raise ValueError("due_at is before received_at")
        return self


class DossierStatusEvent(_DossierFacts):
    """A dossier's lifecycle step, with what is known of the dossier then."""

    type: Literal["DOSSIER_STATUS"] = "DOSSIER_STATUS"
    status: DossierStatus

    @model_validator(mode="after")
    def _received_when_accepted(self) -> DossierStatusEvent:
        if self.status is DossierStatus.RECEIVED and self.received_at is None:
            # The desk accepting the dossier is the event itself.
            object.__setattr__(self, "received_at", self.occurred_at.astimezone(UTC))
        return self


class DossierUpdateEvent(_DossierFacts):
    """What is known of a dossier at a moment, with no lifecycle step (a correction, or the
    facts of a national sync item)."""

    type: Literal["DOSSIER_UPDATE"]


class DossierProgressEvent(_EventBase):
    """A step of a dossier's processing (tiến độ xử lý), as a one-stop system reports it."""

    type: Literal["DOSSIER_PROGRESS"]
    dossier_code: Code
    unit_code: Code | None = None
    # The dossier's status from this step on, if the step changes it.
    status: DossierStatus | None = None
    department: Name | None = None
    handler_title: Name | None = None
    step_started_at: Instant | None = None
    # When the step had to be done by (the regulated time of this step alone).
    step_due_at: Instant | None = None

    _plausible_step_times = field_validator("step_started_at", "step_due_at")(_check_plausible)


class RatingEvent(_EventBase):
    """A citizen's like or dislike of how a dossier was handled."""

    type: Literal["RATING"]
    dossier_code: Code
    unit_code: Code
    rating: Rating


class UnitEvent(_EventBase):
    """A unit of the catalogue (`catalog.events`)."""

    type: Literal["UNIT"]
    unit_code: Code
    name: Name
    level: UnitLevel
    parent_code: Code | None = None
    e_certified_copy: bool | None = None


class OnlineService(StrEnum):
    FULL = "FULL"
    PARTIAL = "PARTIAL"
    NONE = "NONE"


class ProcedureEvent(_EventBase):
    """An administrative procedure (TTHC) of the catalogue (`catalog.events`)."""

    type: Literal["PROCEDURE"]
    procedure_code: Code
    name: Name
    levels: tuple[UnitLevel, ...] = Field(min_length=1)
    # The departments it is under; commune-level procedures are under every commune.
    unit_codes: tuple[Code, ...] = ()
    online_service: OnlineService
    full_online_eligible: bool | None = None
    paper_result_required: bool | None = None
    has_fee: bool | None = None
    max_processing_days: int | None = Field(default=None, ge=0, le=365)
    for_individuals: bool | None = None


class PublicationEvent(_EventBase):
    """A publishing decision (QĐCB) of a procedure (`catalog.events`)."""

    type: Literal["PUBLICATION"]
    procedure_code: Code
    decision_date: date
    legal_effective_date: date
    published_at: date | None = None
    components_complete: bool | None = None


class FeedbackEvent(_EventBase):
    """A step of a citizen's feedback (PAKN) handled by a unit (`feedback.events`)."""

    type: Literal["FEEDBACK"] = "FEEDBACK"
    feedback_id: Code
    unit_code: Code
    status: FeedbackStatus
    category: FeedbackCategory | None = None
    rating: Rating | None = None
    # The citizen raised it again about the result.
    raised_again: bool | None = None


def _dossier_event_type(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("type", "DOSSIER_STATUS"))
    return str(getattr(value, "type", "DOSSIER_STATUS"))


AnyDossierEvent = DossierStatusEvent | DossierUpdateEvent | DossierProgressEvent | RatingEvent
DossierEvent = Annotated[
    Annotated[DossierStatusEvent, Tag("DOSSIER_STATUS")]
    | Annotated[DossierUpdateEvent, Tag("DOSSIER_UPDATE")]
    | Annotated[DossierProgressEvent, Tag("DOSSIER_PROGRESS")]
    | Annotated[RatingEvent, Tag("RATING")],
    Discriminator(_dossier_event_type),
]
AnyEvent = AnyDossierEvent | UnitEvent | ProcedureEvent | PublicationEvent | FeedbackEvent
CATALOGUE_KINDS = ("unit", "procedure", "publication")
# Which contract a topic carries.
TopicKind = Literal["dossier", "catalog", "feedback"]

_DOSSIER_ADAPTER: TypeAdapter[AnyDossierEvent] = TypeAdapter(DossierEvent)
CatalogEvent = Annotated[UnitEvent | ProcedureEvent | PublicationEvent, Field(discriminator="type")]
_CATALOG_ADAPTER: TypeAdapter[UnitEvent | ProcedureEvent | PublicationEvent] = TypeAdapter(
    CatalogEvent
)
_FEEDBACK_ADAPTER: TypeAdapter[FeedbackEvent] = TypeAdapter(FeedbackEvent)
_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "dossier": _DOSSIER_ADAPTER,
    "catalog": _CATALOG_ADAPTER,
    "feedback": _FEEDBACK_ADAPTER,
}

# The `type` tags, which name the branch in a validation error's location.
_EVENT_TYPES = frozenset(
    {
        "DOSSIER_STATUS",
        "DOSSIER_UPDATE",
        "DOSSIER_PROGRESS",
        "RATING",
        "UNIT",
        "PROCEDURE",
        "PUBLICATION",
        "FEEDBACK",
    }
)
EVENT_KIND = {
    DossierStatusEvent: "dossier_status",
    DossierUpdateEvent: "dossier_update",
    DossierProgressEvent: "dossier_progress",
    RatingEvent: "rating",
    UnitEvent: "unit",
    ProcedureEvent: "procedure",
    PublicationEvent: "publication",
    FeedbackEvent: "feedback",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str
    event_id: str | None = None
    # What the dead letter keeps instead of the record as received: the refused part of a
    # national record, less anything personal.
    kept: bytes | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    event: AnyEvent
    # The stored form (`normalized_payload`), and its JSON as stored (`stored_json`).
    payload: dict[str, Any]
    document: bytes
    # What makes a redelivery of it a duplicate rather than a conflict (`events.payload_hash`).
    content_hash: bytes


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one Kafka record holds: the events accepted and the parts refused. A contract record
    is one event or one refusal; a national record may hold both."""

    accepted: tuple[Accepted, ...] = ()
    refused: tuple[Refusal, ...] = ()


def _format_errors(error: ValidationError, sources: Mapping[str, str] | None = None) -> str:
    """The errors, one per field; with `sources`, fields are named after the national fields
    they were read from (`MaTTHC (procedure_code)`) and the event type is left out."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        path = [str(p) for p in item["loc"] if not str(p).startswith("function-")]
        if sources is not None:
            path = [_named(p, sources) for p in path if p not in _EVENT_TYPES]
        location = ".".join(path)
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


def _named(field: str, sources: Mapping[str, str]) -> str:
    return f"{sources[field]} ({field})" if field in sources else field


def parse_record(
    raw: bytes | None, *, topic: TopicKind = "dossier", now: datetime | None = None
) -> AnyEvent | Refusal:
    """Validate one record value holding one contract v1 event."""
    document = _load(raw)
    if isinstance(document, Refusal):
        return document
    assert raw is not None  # _load refused None
    if holds_nul(document):
        return NUL_REFUSAL
    return _validate(raw, document, topic, now)


def parse_events(
    raw: bytes | None,
    *,
    topic: TopicKind = "dossier",
    now: datetime,
    arrived_at: datetime | None = None,
) -> Parsed:
    """The one door for Kafka records: a contract v1 event, or a national sync record (an item,
    a processing step, or the adapter's envelope of many), whose parts are judged one by one.

    `arrived_at` (the record's timestamp) dates what a national record leaves undated; it is
    taken as `now` when absent or later."""
    document = _load(raw, MAX_RECORD_BYTES)
    if isinstance(document, Refusal):
        return Parsed(refused=(document,))
    assert raw is not None  # _load refused None
    if topic == "dossier" and is_national(document):
        return _national(document, now, min(arrived_at or now, now))
    if len(raw) > MAX_EVENT_BYTES:
        return Parsed(refused=(_too_large(raw, MAX_EVENT_BYTES),))
    if holds_nul(document):
        return Parsed(refused=(NUL_REFUSAL,))
    event = _validate(raw, document, topic, now)
    if isinstance(event, Refusal):
        return Parsed(refused=(event,))
    payload = normalized_payload(event)
    stored = stored_json(payload)
    return Parsed(accepted=(Accepted(event, payload, stored, _sha256(stored)),))


def _national(document: dict[str, Any], now: datetime, arrived_at: datetime) -> Parsed:
    accepted: list[Accepted] = []
    refused: list[Refusal] = []
    for part in read_national(document, arrived_at):
        read = _national_part(part, now)
        if isinstance(read, Refusal):
            refused.append(read)
        else:
            accepted.extend(read)
    return Parsed(tuple(accepted), tuple(refused))


def _national_part(part: Part, now: datetime) -> list[Accepted] | Refusal:
    """The events of one item or step, or its refusal: one bad event refuses the whole item."""
    where = f"{part.where}: " if part.where else ""
    if part.error is not None:
        return Refusal(f"{where}{part.error}", kept=part.kept)
    events = []
    for translated in part.events:
        raw = orjson.dumps(translated.event)
        event = _validate(raw, translated.event, "dossier", now, part.field_sources)
        if isinstance(event, Refusal):
            return Refusal(f"{where}{part.service}: {event.reason}", event.event_id, part.kept)
        payload = normalized_payload(event)
        events.append(Accepted(event, payload, stored_json(payload), translated.identity))
    return events


# PostgreSQL text and jsonb cannot hold U+0000: refused here, not failed on insert.
NUL_REFUSAL = Refusal(NUL_REASON)


def _too_large(raw: bytes, limit: int) -> Refusal:
    return Refusal(f"record of {len(raw)} bytes exceeds the {limit}-byte limit")


def _load(raw: bytes | None, limit: int = MAX_EVENT_BYTES) -> dict[str, Any] | Refusal:
    if raw is None:
        return Refusal("empty record (no value)")
    if len(raw) > limit:
        return _too_large(raw, limit)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return Refusal(f"not valid JSON: {error}")
    if not isinstance(document, dict):
        return Refusal(f"expected a JSON object, got {type(document).__name__}")
    return document


def _validate(
    raw: bytes,
    document: dict[str, Any],
    topic: TopicKind,
    now: datetime | None,
    sources: Mapping[str, str] | None = None,
) -> AnyEvent | Refusal:
    event_id = document.get("event_id")
    # Kept beside a refusal only if it is a well-formed id: the rest is in the record itself.
    well_formed = (
        isinstance(event_id, str)
        and len(event_id) <= EVENT_ID_LENGTH
        and _CODE.fullmatch(event_id) is not None
    )
    event_id = event_id if well_formed else None
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        return Refusal(
            f"schema_version: unsupported {version!r}, this ingest reads {SCHEMA_VERSION}",
            event_id,
        )
    adapter = _ADAPTERS[topic]
    try:
        # JSON mode keeps strict types (no "yes" for true) yet reads RFC 3339 strings as times.
        event: AnyEvent = adapter.validate_json(raw, context={"now": now})
    except ValidationError as error:
        return Refusal(_format_errors(error, sources), event_id)
    return event


def event_kind(event: AnyEvent) -> str:
    return EVENT_KIND[type(event)]


def event_subject(event: AnyEvent) -> str:
    if isinstance(event, UnitEvent):
        return event.unit_code
    if isinstance(event, ProcedureEvent | PublicationEvent):
        return event.procedure_code
    if isinstance(event, FeedbackEvent):
        return event.feedback_id
    return event.dossier_code


def normalized_payload(event: AnyEvent) -> dict[str, Any]:
    """The stored form: JSON types, fixed-width UTC times (`Instant`), unknown fields omitted."""
    return event.model_dump(mode="json", exclude_none=True)


def stored_json(payload: dict[str, Any]) -> bytes:
    """The stored form as JSON, keys sorted: what is stored, and what its hash is taken of."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def payload_hash(payload: dict[str, Any]) -> bytes:
    return _sha256(stored_json(payload))


def _sha256(document: bytes) -> bytes:
    return hashlib.sha256(document).digest()


def contract_json_schema() -> dict[str, Any]:
    """The JSON Schema published as `docs/schemas/events-v1.json`."""
    dossier = _DOSSIER_ADAPTER.json_schema()
    catalog = _CATALOG_ADAPTER.json_schema()
    defs = {**dossier.pop("$defs", {}), **catalog.pop("$defs", {})}
    feedback = _FEEDBACK_ADAPTER.json_schema()
    defs |= feedback.pop("$defs", {})
    defs["FeedbackEvent"] = feedback
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://chiso766.example/schemas/events-v1.json",
        "title": "Chỉ số 766 event contract, schema_version 1",
        "oneOf": [
            *dossier["oneOf"],
            *catalog["oneOf"],
            {"$ref": "#/$defs/FeedbackEvent"},
        ],
        "$defs": defs,
    }


if __name__ == "__main__":
    # `python -m shared.events > docs/schemas/events-v1.json` republishes the schema.
    print(orjson.dumps(contract_json_schema(), option=orjson.OPT_INDENT_2).decode())
