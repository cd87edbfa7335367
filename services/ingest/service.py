"""One ingest batch: validate, store once, dead-letter the rest, count, move the offsets.

Everything a batch produces (events, dead letters, counts, next offsets) is written in the
caller's transaction, so a crash anywhere replays the batch with no double count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest import repository
from shared.clock import Clock
from shared.events import (
    Accepted,
    Parsed,
    Refusal,
    TopicKind,
    event_kind,
    event_subject,
    parse_events,
)

log = structlog.get_logger()


class IncomingRecord(Protocol):
    """What ingest needs of a Kafka record (aiokafka's ConsumerRecord has it)."""

    topic: str
    partition: int
    offset: int
    # Milliseconds since the epoch, as the producer (or the broker) stamped it; negative if none.
    timestamp: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class DeadLetterMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str
    event_id: str | None


@dataclass(slots=True)
class BatchReport:
    offered: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: list[DeadLetterMessage] = field(default_factory=list)
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)


class IngestService:
    def __init__(self, clock: Clock, consumer_group: str, topics: dict[str, TopicKind]) -> None:
        self.clock = clock
        self.consumer_group = consumer_group
        # Which contract each topic carries.
        self.topics = topics

    async def process(
        self, session: AsyncSession, records: Sequence[IncomingRecord]
    ) -> BatchReport:
        report = BatchReport()
        stored_offsets = await repository.lock_offsets(
            session, self.consumer_group, {(r.topic, r.partition) for r in records}
        )
        # Records another consumer (or this one before a crash) already applied are skipped.
        fresh = [
            r
            for r in records
            if (stored := stored_offsets[(r.topic, r.partition)]) is None or r.offset >= stored
        ]
        counts: defaultdict[str, dict[str, int]] = defaultdict(
            lambda: {"offered": 0, "stored": 0, "dead_lettered": 0, "duplicates": 0}
        )
        now = self.clock.now()
        candidates: dict[str, tuple[IncomingRecord, dict[str, Any]]] = {}
        batch_duplicates: list[IncomingRecord] = []
        for record in fresh:
            key = (record.topic, record.partition)
            report.next_offsets[key] = max(report.next_offsets.get(key, 0), record.offset + 1)
            parsed = self._parse(record, now)
            # A national sync record counts as the events it becomes and the items it refuses.
            counts[record.topic]["offered"] += len(parsed.accepted) + len(parsed.refused)
            for refusal in parsed.refused:
                report.dead_letters.append(_dead_letter(record, refusal))
            for accepted in parsed.accepted:
                event = accepted.event
                row = _row(record, accepted)
                earlier = candidates.get(event.event_id)
                if earlier is None:
                    candidates[event.event_id] = (record, row)
                elif earlier[1]["payload_hash"] == row["payload_hash"]:
                    batch_duplicates.append(record)
                else:
                    report.dead_letters.append(_dead_letter(record, _reused_id(event.event_id)))

        inserted = await repository.insert_events(session, [row for _, row in candidates.values()])
        not_inserted = [eid for eid in candidates if eid not in inserted]
        existing = await repository.stored_hashes(session, not_inserted)
        for event_id in not_inserted:
            record, row = candidates[event_id]
            if existing.get(event_id) == row["payload_hash"]:
                batch_duplicates.append(record)
            else:
                report.dead_letters.append(_dead_letter(record, _reused_id(event_id)))
        for event_id in inserted:
            counts[candidates[event_id][0].topic]["stored"] += 1
        for record in batch_duplicates:
            counts[record.topic]["duplicates"] += 1
        for letter in report.dead_letters:
            counts[letter.topic]["dead_lettered"] += 1

        await repository.insert_dead_letters(
            session,
            [
                {
                    "topic": d.topic,
                    "partition": d.partition,
                    "offset": d.offset,
                    "key": d.key,
                    "value": d.value,
                    "reason": d.reason,
                    "event_id": d.event_id,
                }
                for d in report.dead_letters
            ],
        )
        await repository.add_counts(session, counts)
        await repository.save_offsets(session, self.consumer_group, report.next_offsets)
        report.offered = sum(c["offered"] for c in counts.values())
        report.stored = len(inserted)
        report.duplicates = len(batch_duplicates)
        return report

    def _parse(self, record: IncomingRecord, now: datetime) -> Parsed:
        try:
            return parse_events(
                record.value,
                topic=self.topics.get(record.topic, "dossier"),
                now=now,
                arrived_at=_arrival(record),
            )
        except Exception as error:
            # A parser bug must not block the partition: the record is kept, with the reason.
            log.exception("ingest.unreadable_record", topic=record.topic, offset=record.offset)
            return Parsed(refused=(_unreadable(error),))


def _arrival(record: IncomingRecord) -> datetime | None:
    """When the record reached the broker, if it says."""
    if record.timestamp < 0:
        return None
    return datetime.fromtimestamp(record.timestamp / 1000, UTC)


def _unreadable(error: Exception) -> Refusal:
    return Refusal(f"could not be read ({type(error).__name__}: {error})")


def _row(record: IncomingRecord, accepted: Accepted) -> dict[str, Any]:
    event = accepted.event
    return {
        "event_id": event.event_id,
        "kind": event_kind(event),
        "subject": event_subject(event),
        "occurred_at": event.occurred_at,
        "payload": accepted.document,
        "payload_hash": accepted.content_hash,
        "source_topic": record.topic,
        "source_partition": record.partition,
        "source_offset": record.offset,
    }


def _reused_id(event_id: str) -> Refusal:
    return Refusal(
        f"event_id {event_id!r} was already used by an event with different content", event_id
    )


def _dead_letter(record: IncomingRecord, refusal: Refusal) -> DeadLetterMessage:
    return DeadLetterMessage(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        # A refused part of a national record is kept alone, less anything personal.
        value=record.value if refusal.kept is None else refusal.kept,
        reason=refusal.reason,
        event_id=refusal.event_id,
    )
