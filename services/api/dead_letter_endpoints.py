"""The dead letters for operators: what was refused and why, and sending chosen records again.

A record refused for a reason that has since gone away (a sender's clock ahead of ours, a unit
code fixed upstream by a new contract version) is replayed as it came, bytes and key, to the
topic it was read from, where ingest judges it again like any record; an accepted replay counts
once (its event_id is the dedup key), a refused one becomes a new dead letter. The records are
never shown here: they may hold personal data.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import select, update

from services.api import schemas
from services.api.auth import Scope, require
from services.api.endpoints import ClockDep, SessionDep
from services.api.publisher import PublishError, Record
from shared.models import ApiKey, DeadLetter

log = structlog.get_logger()
router = APIRouter(tags=["admin"])
KeyDep = Annotated[ApiKey, Depends(require(Scope.DEAD_LETTERS))]
ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": schemas.ErrorOut, "description": "No valid API key"},
    403: {"model": schemas.ErrorOut, "description": "The key lacks dead-letters:manage"},
}


@router.get("/admin/dead-letters", response_model=schemas.DeadLetterPage, responses=ERRORS)
async def dead_letters(
    session: SessionDep,
    _: KeyDep,
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
    query = select(DeadLetter)
    if topic is not None:
        query = query.where(DeadLetter.topic == topic)
    if reason:
        query = query.where(DeadLetter.reason.contains(reason, autoescape=True))
    if before is not None:
        query = query.where(DeadLetter.id < before)
    rows = list(await session.scalars(query.order_by(DeadLetter.id.desc()).limit(limit)))
    return schemas.DeadLetterPage(
        items=[schemas.DeadLetterOut.model_validate(row, from_attributes=True) for row in rows],
        next_before=rows[-1].id if len(rows) == limit else None,
    )


@router.post(
    "/admin/dead-letters/replay",
    response_model=schemas.ReplayOut,
    responses={
        **ERRORS,
        404: {"model": schemas.ErrorOut, "description": "Some ids are unknown: none was sent"},
        503: {"model": schemas.ErrorOut, "description": "The broker did not take them"},
    },
)
async def replay(
    request: Request, session: SessionDep, clock: ClockDep, key: KeyDep, body: schemas.ReplayIn
) -> schemas.ReplayOut:
    """Send the chosen dead letters to their topics again, all or none; each keeps its row,
    with `replays` counted."""
    ids = sorted(set(body.ids))
    rows = list(
        await session.scalars(select(DeadLetter).where(DeadLetter.id.in_(ids)).with_for_update())
    )
    missing = sorted(set(ids) - {row.id for row in rows})
    if missing:
        raise HTTPException(404, f"unknown dead letters: {missing[:20]}")
    by_topic: defaultdict[str, list[Record]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.id):
        headers = [("replay.of", str(row.id).encode())]
        by_topic[row.topic].append(Record(row.key, row.value, headers))
    try:
        for topic, records in by_topic.items():
            await request.app.state.publisher.publish(topic, records)
    except PublishError as error:
        raise HTTPException(503, str(error)) from None
    # Sent before this commit: a failure now would replay them again next time, which ingest
    # absorbs (a duplicate, or one more dead letter); a count lower by one is the only cost.
    await session.execute(
        update(DeadLetter)
        .where(DeadLetter.id.in_(ids))
        .values(replays=DeadLetter.replays + 1, replayed_at=clock.now())
    )
    await session.commit()
    log.info("api.dead_letters_replayed", records=len(rows), key_id=key.key_id)
    return schemas.ReplayOut(
        replayed=len(rows), topics={t: len(records) for t, records in by_topic.items()}
    )
