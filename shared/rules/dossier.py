"""A dossier's state as a join of its events, and the facts read from it.

The state is a join-semilattice: each field is a last-writer-wins register ordered by
`(occurred_at, event_id)`, and status steps are a set keyed by `event_id`. Applying events in any
order, or any event twice, gives the same state; this is what makes scoring idempotent and
order-independent without special cases.

Stored form (JSONB): `{"f": {field: [value, stamp]}, "m": {event_id: [status, at]}}`, times as
fixed-width UTC ISO strings (see `shared.events.format_instant`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from shared.events import DossierStatus

State = dict[str, Any]

REGISTER_FIELDS = (
    "unit_code",
    "procedure_code",
    "received_at",
    "due_at",
    "channel",
    "synced_to_national_portal",
    "fee_required",
    "paid_online",
    "e_result_issued",
    "digitized",
    "reused_data",
    "personal_store_linked",
    "population_data_used",
    "complaint",
    "paper_result_required",
    "rating",
)

NOT_ACCEPTED = DossierStatus.NOT_ACCEPTED
NOT_YET_ACCEPTED = frozenset({DossierStatus.SUBMITTED, NOT_ACCEPTED})
PROGRESS = "DOSSIER_PROGRESS"
# A supplement is one request and one answer, which the supplement records state with their own
# dates; a processing step reporting the same request would count it twice.
NOT_FROM_PROGRESS = frozenset({DossierStatus.SUPPLEMENT_REQUESTED, DossierStatus.SUPPLEMENTED})


# What the catalogue says of the dossier's procedure, as of the last evaluation, for the facts the
# dossier's own events leave unsaid. Kept in the state so that the contribution written then can
# be recomputed exactly, whatever the catalogue says now.
CATALOGUE_FACTS = "c"


def empty_state() -> State:
    return {"f": {}, "m": {}}


def apply_event(
    state: State, payload: dict[str, Any], fields: tuple[str, ...] = REGISTER_FIELDS
) -> None:
    """Join one stored event into `state`, in place: its `fields` as registers, its status as a
    step."""
    stamp = f"{payload['occurred_at']}|{payload['event_id']}"
    registers: dict[str, list[Any]] = state["f"]
    # The payload's own names, fewer than the registers: each one looked up once.
    wanted = _REGISTER_SET if fields is REGISTER_FIELDS else _field_set(fields)
    for name, value in payload.items():
        if value is None or name not in wanted:
            continue
        current = registers.get(name)
        if current is None or current[1] < stamp:
            registers[name] = [value, stamp]
    status = payload.get("status")
    if status is None or (payload.get("type") == PROGRESS and status in NOT_FROM_PROGRESS):
        return
    state["m"][payload["event_id"]] = [status, payload["occurred_at"]]


@lru_cache(maxsize=16)
def _field_set(fields: tuple[str, ...]) -> frozenset[str]:
    return frozenset(fields)


_REGISTER_SET = _field_set(REGISTER_FIELDS)


@dataclass(frozen=True, slots=True)
class Mark:
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Facts:
    """What the events say about a dossier, read once per evaluation."""

    unit_code: str | None
    procedure_code: str | None
    received_at: datetime | None
    due_at: datetime | None
    channel: str | None
    synced_to_national_portal: bool
    fee_required: bool
    paid_online: bool
    e_result_issued: bool
    digitized: bool
    reused_data: bool
    personal_store_linked: bool
    population_data_used: bool
    complaint: bool
    paper_result_required: bool
    rating: str | None
    marks: tuple[Mark, ...]
    # Accepted at the desk: received, some step past submission, and never refused.
    accepted: bool

    @property
    def latest_status(self) -> str | None:
        return self.marks[-1].status if self.marks else None


def procedure_of(state: State) -> str | None:
    """The dossier's procedure, without reading every fact."""
    entry = state["f"].get("procedure_code")
    return None if entry is None else str(entry[0])


def set_catalogue_facts(state: State, facts: dict[str, Any]) -> bool:
    """Record what the catalogue now says of the dossier's procedure; True if that changed."""
    if state.get(CATALOGUE_FACTS, {}) == facts:
        return False
    if facts:
        state[CATALOGUE_FACTS] = facts
    else:
        state.pop(CATALOGUE_FACTS, None)
    return True


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def read_marks(state: State) -> tuple[Mark, ...]:
    """The status steps, sorted by time, then event id, so that the latest is well defined."""
    # Times are fixed-width UTC ISO strings: sorted as text, they are sorted in time.
    ordered = sorted((at, event_id, status) for event_id, (status, at) in state["m"].items())
    return tuple([Mark(status, datetime.fromisoformat(at)) for at, _, status in ordered])


def read_facts(state: State) -> Facts:
    value = {name: entry[0] for name, entry in state["f"].items()}.get
    marks = read_marks(state)
    received_at = _time(value("received_at"))
    statuses = {m.status for m in marks}
    # The dossier's own word, else the catalogue's; unknown to both, assume a paper result is
    # required, which is the stricter reading for 3.3, 4.1 and 4.2.
    paper_result_required = value("paper_result_required")
    if paper_result_required is None:
        paper_result_required = state.get(CATALOGUE_FACTS, {}).get("paper_result_required")
    return Facts(
        unit_code=value("unit_code"),
        procedure_code=value("procedure_code"),
        received_at=received_at,
        due_at=_time(value("due_at")),
        channel=value("channel"),
        synced_to_national_portal=bool(value("synced_to_national_portal")),
        fee_required=bool(value("fee_required")),
        paid_online=bool(value("paid_online")),
        e_result_issued=bool(value("e_result_issued")),
        digitized=bool(value("digitized")),
        reused_data=bool(value("reused_data")),
        personal_store_linked=bool(value("personal_store_linked")),
        population_data_used=bool(value("population_data_used")),
        complaint=bool(value("complaint")),
        paper_result_required=paper_result_required is not False,
        rating=value("rating"),
        marks=marks,
        accepted=received_at is not None
        and NOT_ACCEPTED not in statuses
        and bool(statuses - NOT_YET_ACCEPTED),
    )
