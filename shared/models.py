"""The database: the event store written by ingest, and the read models written by scoring.

Only `ingest` writes `events`, `dead_letters`, `ingest_offsets` and `ingest_counts`; `api_keys` is
written by the key command; `alerts` by scoring (dossier facts) and by the api's alerting process
(score facts), which alone writes the alert state, relay and webhook tables; `webhooks` is also
written by the api's subscription endpoints. `scoring` writes the rest. The api reads.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Writers of `events` hold this transaction-level advisory lock from before their first insert to
# their commit, so sequence numbers become visible in order and scoring can tail by `seq` alone.
EVENTS_APPEND_LOCK = 766_001


class Event(Base):
    """An accepted event, stored once (`event_id` is the dedup key)."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    payload_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    source_topic: Mapped[str] = mapped_column(String(255))
    source_partition: Mapped[int] = mapped_column(Integer)
    source_offset: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_events_subject", "subject"),)


class DeadLetter(Base):
    """A refused record, kept with its reason even if the dead-letter topic is lost."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    topic: Mapped[str] = mapped_column(String(255))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    value: Mapped[bytes | None] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str | None] = mapped_column(String(128))
    dead_lettered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Sent again to its topic by an operator (`POST /admin/dead-letters/replay`), e.g. once the
    # sender fixed its clock: how often, and when last. The row stays, as history.
    replays: Mapped[int] = mapped_column(Integer, server_default="0")
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # How many arrived lately: the "dead letters growing" alert.
    __table_args__ = (Index("ix_dead_letters_dead_lettered_at", "dead_lettered_at"),)


class IngestOffset(Base):
    """The next Kafka offset to read, committed in the same transaction as what it produced."""

    __tablename__ = "ingest_offsets"

    consumer_group: Mapped[str] = mapped_column(String(255), primary_key=True)
    topic: Mapped[str] = mapped_column(String(255), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)


class IngestCount(Base):
    """offered = stored + dead_lettered + duplicates, per topic."""

    __tablename__ = "ingest_counts"

    topic: Mapped[str] = mapped_column(String(255), primary_key=True)
    offered: Mapped[int] = mapped_column(BigInteger, default=0)
    stored: Mapped[int] = mapped_column(BigInteger, default=0)
    dead_lettered: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)


class Unit(Base):
    """A department, commune or the province. Units seen only in dossiers have no level."""

    __tablename__ = "units"

    unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(64))
    # Communes: offers electronic certified copies from originals (4.6).
    e_certified_copy: Mapped[bool | None] = mapped_column(Boolean)
    # (occurred_at, event_id) of the catalogue event that last set it: last writer wins.
    stamp: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_units_level", "level"),)


class Procedure(Base):
    """An administrative procedure (TTHC) of the catalogue."""

    __tablename__ = "procedures"

    procedure_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    levels: Mapped[list[str]] = mapped_column(JSONB)
    unit_codes: Mapped[list[str]] = mapped_column(JSONB)
    online_service: Mapped[str] = mapped_column(String(16))
    paper_result_required: Mapped[bool | None] = mapped_column(Boolean)
    has_fee: Mapped[bool | None] = mapped_column(Boolean)
    max_processing_days: Mapped[int | None] = mapped_column(Integer)
    for_individuals: Mapped[bool | None] = mapped_column(Boolean)
    stamp: Mapped[str] = mapped_column(Text)


class Publication(Base):
    """A publishing decision (QĐCB) of a procedure, and when it was made public."""

    __tablename__ = "publications"

    procedure_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    decision_date: Mapped[date] = mapped_column(Date, primary_key=True)
    legal_effective_date: Mapped[date] = mapped_column(Date)
    published_at: Mapped[date | None] = mapped_column(Date)
    components_complete: Mapped[bool | None] = mapped_column(Boolean)
    stamp: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_publications_decision_date", "decision_date"),)


# Subjects with a transition ahead (every unfinished one has one) and those with none.
OPEN = "next_transition_at IS NOT NULL"
FINISHED = "next_transition_at IS NULL AND received_at IS NOT NULL"
OVERDUE = "outcome IN ('OVERDUE', 'IN_PROGRESS_OVERDUE')"
# From receipt to the end of processing (`ended_at`, written by scoring with the row: a
# dossier's `end_of_processing`, a feedback's `end_of_handling`): the span a finished subject was
# processed over, so that the subjects still being processed at an instant are those whose span
# holds it.
FINISHED_SPAN = "tstzrange(received_at, greatest(received_at, ended_at), '[]')"


def listing_indexes(table: str, key: str) -> tuple[Index, ...]:
    """The indexes of the lists of a table of subjects (dossiers, feedback), in their order
    (received_at, key): a unit's and every unit's, of those received in a period, of those still
    open, and the span from receipt to the end of processing of those finished (GiST: which
    spans hold an instant: the subjects still being processed when a period began)."""
    return (
        Index(f"ix_{table}_unit_listing", "unit_code", "received_at", key),
        Index(f"ix_{table}_listing", "received_at", key),
        Index(
            f"ix_{table}_unit_open_listing",
            "unit_code",
            "received_at",
            key,
            postgresql_where=text(OPEN),
        ),
        Index(f"ix_{table}_open_listing", "received_at", key, postgresql_where=text(OPEN)),
        Index(
            f"ix_{table}_finished_span",
            text(FINISHED_SPAN),
            postgresql_using="gist",
            postgresql_where=text(FINISHED),
        ),
    )


class Dossier(Base):
    """A dossier's merged state, its last applied contribution time, and columns for listings."""

    __tablename__ = "dossiers"

    dossier_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_code: Mapped[str | None] = mapped_column(String(64))
    procedure_code: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # ON_TIME, OVERDUE, IN_PROGRESS, IN_PROGRESS_OVERDUE, or NOT_COUNTED, as of `evaluated_at`.
    outcome: Mapped[str] = mapped_column(String(24))
    overdue_reason: Mapped[str | None] = mapped_column(String(32))
    # overdue_by = (clock_stopped_at or now) - effective_due_at
    effective_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    clock_stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_transition_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where the finished span ends (migration 0017): the end of processing, or the latest status
    # step of a subject that has none (`services.scoring.batch.span_end`).
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What a range ended while it was being processed counts of it, where that end alone decides
    # (`shared.rules.contributions.OnTimeUntil`, migration 0018): on time before `overdue_from`
    # (never overdue: None), satisfied unless `disliked`. `disliked` is None where the end does
    # not decide alone: the range then reads its state.
    overdue_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disliked: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        # The lists behind the numbers, in their order (see shared.scores.repository.candidates).
        *listing_indexes("dossiers", "dossier_code"),
        # A procedure's dossiers, re-evaluated when the catalogue changes what it requires.
        Index("ix_dossiers_procedure_code", "procedure_code"),
        # 2.1's shortfall, among the overdue (see shared.rules.members.among_overdue).
        Index(
            "ix_dossiers_unit_overdue_listing",
            "unit_code",
            "received_at",
            "dossier_code",
            postgresql_where=text(OVERDUE),
        ),
        Index(
            "ix_dossiers_overdue_listing",
            "received_at",
            "dossier_code",
            postgresql_where=text(OVERDUE),
        ),
        # A unit's overdue list, most overdue first.
        Index(
            "ix_dossiers_overdue",
            "unit_code",
            "effective_due_at",
            "dossier_code",
            postgresql_where=text(OVERDUE),
        ),
        # A unit's dossiers in progress, soonest due first: guidance's forecast and due-soon list.
        Index(
            "ix_dossiers_unit_in_progress_due",
            "unit_code",
            "effective_due_at",
            postgresql_where=text("outcome IN ('IN_PROGRESS', 'IN_PROGRESS_OVERDUE')"),
        ),
        # Dossiers coming due with no event: the "due soon" alerts' scan.
        Index(
            "ix_dossiers_in_progress_due",
            "effective_due_at",
            postgresql_where=text("outcome = 'IN_PROGRESS'"),
        ),
        Index(
            "ix_dossiers_next_transition_at",
            "next_transition_at",
            postgresql_where=text("next_transition_at IS NOT NULL"),
        ),
    )


class Feedback(Base):
    """A citizen's feedback (PAKN): merged state, when last evaluated, and listing columns."""

    __tablename__ = "feedback"

    feedback_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_code: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[dict[str, Any]] = mapped_column(JSONB)
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_transition_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where the finished span ends (migration 0017): the end of processing, or the latest status
    # step of a subject that has none (`services.scoring.batch.span_end`).
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        *listing_indexes("feedback", "feedback_id"),
        Index(
            "ix_feedback_next_transition_at",
            "next_transition_at",
            postgresql_where=text("next_transition_at IS NOT NULL"),
        ),
    )


class IndicatorCount(Base):
    """Numerator and denominator of one indicator, for one unit and one period, as one scoring
    partition added to them: the cell's counts are the sum over its partitions."""

    __tablename__ = "indicator_counts"

    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    # An indicator's id ("2.1"), or a procedure's activity cell ("3.2@1.001234").
    indicator_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    partition: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")
    numerator: Mapped[int] = mapped_column(BigInteger, default=0)
    denominator: Mapped[int] = mapped_column(BigInteger, default=0)


# The `period_versions` row versioning the catalogue (units, procedures, publications).
CATALOGUE_VERSION = "catalogue"


class PeriodVersion(Base):
    """Bumped whenever a scoring partition changes a period's counts: the sum over partitions is
    the period's version (the api's ETag)."""

    __tablename__ = "period_versions"

    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    partition: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The last time a late event changed the period after it had ended.
    restated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScoringPosition(Base):
    """How far scoring has read the event store, and the instant its counts are evaluated at."""

    __tablename__ = "scoring_position"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    events_applied: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Dossiers due up to here have been looked at for "due soon" alerts.
    due_soon_scanned_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """A key for the write and admin endpoints: its secret kept only as a SHA-256 digest."""

    __tablename__ = "api_keys"

    # The public part of the key, given with it: `c766_<key_id>_<secret>`.
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[list[str]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Writers of `alerts` hold this transaction-level advisory lock from their first insert to their
# commit, so alert sequence numbers become visible in order: readers tail by `seq` alone.
ALERTS_APPEND_LOCK = 766_002


class AlertRow(Base):
    """An alert, recorded once per fact (`alert_id` names the fact); `shared.alerts.Alert` is
    what it holds."""

    __tablename__ = "alerts"

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The whole alert as published (schema `shared.alerts.Alert`), less its seq.
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (Index("ix_alerts_unit_code_seq", "unit_code", "seq"),)


class AlertWatch(Base):
    """What the score watcher last saw of one measure (a unit's total in a period, ...)."""

    __tablename__ = "alert_watches"

    watch_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # The reference value a fall is measured from (best score, best rank), or 1/0 for a flag.
    baseline: Mapped[float] = mapped_column(Double)
    # Alerts raised so far for this measure: the next one's id ends with this number plus one.
    raised: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertRelay(Base):
    """How far the alerts have been published to Kafka, committed after the broker acked."""

    __tablename__ = "alert_relay"

    topic: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    # {partition: next offset after the last acked record}: where to look for records that
    # were acked by the broker but not recorded here (a crash in between).
    offsets: Mapped[dict[str, int]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Webhook(Base):
    """A subscription: alerts matching its filters are POSTed, signed, to its URL."""

    __tablename__ = "webhooks"

    webhook_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    # Kept as given: signing needs it (see docs/alerts.md on rotating it).
    secret: Mapped[str] = mapped_column(Text)
    units: Mapped[list[str]] = mapped_column(JSONB)
    kinds: Mapped[list[str]] = mapped_column(JSONB)
    min_level: Mapped[str] = mapped_column(String(16))
    owner_key_id: Mapped[str] = mapped_column(String(16))
    # Alerts up to this seq have their delivery rows.
    last_seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One alert to one subscription: its attempts, and where it stands."""

    __tablename__ = "webhook_deliveries"

    delivery_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(32))
    alert_seq: Mapped[int] = mapped_column(BigInteger)
    # A `shared.alerts.DeliveryStatus`.
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # [{"at", "status_code", "error", "ms"}, ...]: one entry per attempt.
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)

    __table_args__ = (
        UniqueConstraint("webhook_id", "alert_seq"),
        Index(
            "ix_webhook_deliveries_next_attempt_at",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )


class ScoreHistory(Base):
    """A unit's counts in a running period as they stood at the end of a local day, as one
    scoring partition held them: `{indicator or activity cell: [numerator, denominator]}`. Written
    by the step that closes the day, in the transaction of the counts it copies; the day's counts
    are the sum over partitions, like `indicator_counts`."""

    __tablename__ = "score_history"

    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    partition: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    counts: Mapped[dict[str, list[int]]] = mapped_column(JSONB)


class HistoryDay(Base):
    """A local day closed by one scoring partition: a day is in the history once every
    partition has closed it."""

    __tablename__ = "history_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    partition: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # The events the partition had applied when it closed the day (what `verify` replays).
    last_seq: Mapped[int] = mapped_column(BigInteger)
    # The instant the step that closed it ran (the day's counts are evaluated at its midnight).
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HistoryRestatement(Base):
    """What events applied after a day closed changed in its counts, as a delta
    (`{indicator or activity cell: [numerator, denominator]}`), dated by the step that applied
    them: the recorded history is never rewritten."""

    __tablename__ = "history_restatements"

    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    partition: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    restated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    counts: Mapped[dict[str, list[int]]] = mapped_column(JSONB)
