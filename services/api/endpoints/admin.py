"""Admin: catalogue writes on behalf of the pipeline (ingest stays the only door to the event
store), and the dead letters for operators. Always keyed, each route with its own scope.

The dead letters' records are never shown: they may hold personal data. A record refused for a
reason that has since gone away (a sender's clock ahead of ours, a unit code fixed upstream) is
replayed as it came, bytes and key, to the topic it was read from, where ingest judges it again
like any record; an accepted replay counts once (its event_id is the dedup key), a refused one
becomes a new dead letter.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

import orjson
import structlog
from fastapi import APIRouter, Body, Depends, Query

from services.api import repository, schemas
from services.api.auth import Scope
from services.api.deps import ClockDep, PublisherDep, SessionDep, SettingsDep, require
from services.api.key_cache import KnownKey
from shared.errors import InvalidInput, NotFound
from shared.events import Refusal, event_subject, parse_record
from shared.kafka import OutgoingRecord

log = structlog.get_logger()
router = APIRouter(tags=["admin"])
MAX_CATALOGUE_EVENTS = 5000
CatalogueKeyDep = Annotated[KnownKey, Depends(require(Scope.CATALOGUE_WRITE))]
DeadLetterKeyDep = Annotated[KnownKey, Depends(require(Scope.DEAD_LETTERS))]


def _errors(scope: str) -> dict[int | str, dict[str, object]]:
    return {
        401: {"model": schemas.ErrorOut, "description": "No valid API key"},
        403: {"model": schemas.ErrorOut, "description": f"The key lacks {scope}"},
    }


@router.post(
    "/admin/catalogue",
    status_code=202,
    response_model=schemas.CatalogueAccepted,
    responses={
        **_errors(Scope.CATALOGUE_WRITE),
        422: {"description": "Some events are not valid: none was sent"},
        503: {"model": schemas.ErrorOut, "description": "The broker did not take them"},
    },
)
async def admin_catalogue(
    settings: SettingsDep,
    publisher: PublisherDep,
    key: CatalogueKeyDep,
    events: Annotated[
        list[dict[str, Any]],
        Body(
            min_length=1,
            max_length=MAX_CATALOGUE_EVENTS,
            description="Catalogue events (UNIT, PROCEDURE, PUBLICATION) in the contract format.",
            examples=[[schemas.PROCEDURE_EXAMPLE]],
        ),
    ],
) -> schemas.CatalogueAccepted:
    """Send catalogue events to `catalog.events`, all or none: ingest stores them and scoring
    applies them like any other catalogue event (the latest `occurred_at` wins)."""
    records: list[OutgoingRecord] = []
    errors: list[dict[str, object]] = []
    for index, event in enumerate(events):
        try:
            value = orjson.dumps(event)
        except orjson.JSONEncodeError as error:  # e.g. a lone surrogate in a string
            errors.append({"index": index, "reason": f"not encodable as UTF-8 JSON: {error}"})
            continue
        parsed = parse_record(value, topic="catalog")
        if isinstance(parsed, Refusal):
            errors.append({"index": index, "reason": parsed.reason})
        else:
            records.append(OutgoingRecord(event_subject(parsed).encode(), value))
    if errors:
        raise InvalidInput({"message": "no event was sent", "errors": errors})
    await publisher.publish(settings.topic_catalog_events, records)
    log.info("api.catalogue_accepted", events=len(records), key_id=key.key_id)
    return schemas.CatalogueAccepted(accepted=len(records), topic=settings.topic_catalog_events)


@router.get(
    "/admin/dead-letters",
    response_model=schemas.DeadLetterPage,
    responses=_errors(Scope.DEAD_LETTERS),
)
async def dead_letters(
    session: SessionDep,
    _: DeadLetterKeyDep,
    topic: Annotated[str | None, Query(max_length=255)] = None,
    reason: Annotated[
        str | None, Query(max_length=200, description="Only reasons containing this text.")
    ] = None,
    before: Annotated[
        int | None, Query(ge=1, le=schemas.MAX_ROW_ID, description="Only ids below this.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> schemas.DeadLetterPage:
    """The refused records' reasons, newest first."""
    rows = await repository.dead_letters(session, topic, reason, before, limit)
    return schemas.DeadLetterPage(
        items=[schemas.DeadLetterOut.model_validate(row, from_attributes=True) for row in rows],
        next_before=rows[-1].id if len(rows) == limit else None,
    )


@router.post(
    "/admin/dead-letters/replay",
    response_model=schemas.ReplayOut,
    responses={
        **_errors(Scope.DEAD_LETTERS),
        404: {"model": schemas.ErrorOut, "description": "Some ids are unknown: none was sent"},
        503: {"model": schemas.ErrorOut, "description": "The broker did not take them"},
    },
)
async def replay(
    session: SessionDep,
    clock: ClockDep,
    publisher: PublisherDep,
    key: DeadLetterKeyDep,
    body: schemas.ReplayIn,
) -> schemas.ReplayOut:
    """Send the chosen dead letters to their topics again, all or none; each keeps its row,
    with `replays` counted."""
    ids = sorted(set(body.ids))
    rows = await repository.lock_dead_letters(session, ids)
    missing = sorted(set(ids) - {row.id for row in rows})
    if missing:
        raise NotFound(f"unknown dead letters: {missing[:20]}")
    by_topic: defaultdict[str, list[OutgoingRecord]] = defaultdict(list)
    for row in rows:
        headers = [("replay.of", str(row.id).encode())]
        by_topic[row.topic].append(OutgoingRecord(row.key, row.value, headers))
    for topic, records in by_topic.items():
        await publisher.publish(topic, records)
    # Sent before this commit: a failure now would replay them again next time, which ingest
    # absorbs (a duplicate, or one more dead letter); a count lower by one is the only cost.
    await repository.count_replays(session, ids, clock.now())
    log.info("api.dead_letters_replayed", records=len(rows), key_id=key.key_id)
    return schemas.ReplayOut(
        replayed=len(rows), topics={t: len(records) for t, records in by_topic.items()}
    )
