"""The national sync format (DongBoHoSoMC items, CapNhatTienDoHoSoMC steps, the adapter's
envelope) read as the field systems send it: the corpus, through the door and the scoring core."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.scoring.batch import DossierScorer
from shared.events import Accepted, Refusal, parse_events
from shared.national.values import NationalSyncError, time_of
from shared.periods import ALL_KINDS, Calendar
from shared.rules.dossier import read_facts
from tests.corpus.national import (
    APPLICANT,
    CASES,
    IDENTITY_VALUES,
    LOCAL,
    NEXT_PERIOD,
    NOW,
    PERIOD,
    Case,
    Sent,
    item,
    local,
    records,
)

# The first corpus item: an online dossier, finished and returned.
ITEM: dict[str, Any] = dict(CASES[0].sent[0].value)


def door(sent: Sent) -> tuple[list[Accepted], list[Refusal]]:
    parsed = parse_events(orjson.dumps(sent.value), now=NOW, arrived_at=sent.at)
    return list(parsed.accepted), list(parsed.refused)


def ingest(sent: Iterable[Sent]) -> tuple[dict[str, Accepted], int, list[Refusal]]:
    """What ingest would store (by event id), the duplicates it would drop, and the refusals."""
    stored: dict[str, Accepted] = {}
    duplicates = 0
    refused: list[Refusal] = []
    for record in sent:
        accepted, refusals = door(record)
        refused += refusals
        for one in accepted:
            earlier = stored.get(one.event.event_id)
            if earlier is None:
                stored[one.event.event_id] = one
            else:
                assert earlier.content_hash == one.content_hash, "an id reused for other content"
                duplicates += 1
    return stored, duplicates, refused


def score(payloads: Iterable[dict[str, Any]]) -> tuple[dict[str, Any], dict[tuple, list[int]]]:
    """(dossier states, count deltas) of the payloads scored at NOW from nothing."""
    scorer = DossierScorer(Calendar(), ALL_KINDS, "19")
    scorer.use_catalogue({})
    step = scorer.step({}, list(payloads), [], NOW)
    return {row.dossier_code: row.state for row in step.rows}, step.deltas


def indicators(deltas: dict[tuple, list[int]], unit: str, period: str) -> dict[str, tuple]:
    return {
        indicator: (n, d)
        for (owner, key, indicator), (n, d) in deltas.items()
        if owner == unit and key == period and "@" not in indicator
    }


def shown(instant: datetime) -> str:
    return instant.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_record_of_the_corpus_gives_what_it_must(case: Case) -> None:
    stored, duplicates, refused = ingest(case.sent)
    assert (len(stored), duplicates) == (case.stored, case.duplicates)
    assert len(refused) == len(case.refused), [r.reason for r in refused]
    for refusal, expected in zip(refused, case.refused, strict=True):
        assert expected in refusal.reason
    states, deltas = score(one.payload for one in stored.values())
    for code, dossier in case.dossiers.items():
        facts = read_facts(states[code])
        assert [(m.status, shown(m.at)) for m in facts.marks] == list(dossier.steps)
        for name, value in dossier.facts.items():
            found = getattr(facts, name)
            assert (shown(found) if isinstance(found, datetime) else found) == value, name
    if case.unit is not None:
        assert indicators(deltas, case.unit, PERIOD) == dict(case.counts)
        if case.next_counts:
            assert indicators(deltas, case.unit, NEXT_PERIOD) == dict(case.next_counts)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.twin], ids=[c.name for c in CASES if c.twin]
)
def test_a_dossier_gives_the_same_counts_as_national_items_and_as_contract_events(
    case: Case,
) -> None:
    stored, _, _ = ingest(case.sent)
    twin, _, _ = ingest(Sent(event, NOW) for event in case.twin)
    assert case.unit is not None
    national = indicators(score(one.payload for one in stored.values())[1], case.unit, PERIOD)
    contract = indicators(score(one.payload for one in twin.values())[1], case.unit, PERIOD)
    assert national == contract == dict(case.counts)


def test_no_applicant_identity_is_in_an_event_or_in_what_a_refusal_keeps() -> None:
    kept: list[bytes] = []
    for record in records():
        accepted, refused = door(record)
        kept += [orjson.dumps(one.payload) for one in accepted]
        kept += [refusal.kept for refusal in refused if refusal.kept is not None]
    assert kept
    for blob in kept:
        for value in IDENTITY_VALUES:
            assert value.encode() not in blob, value
        for field in APPLICANT:
            assert f'"{field}"'.encode() not in blob, field


def test_a_refused_item_is_kept_alone_and_can_be_sent_again_as_it_is() -> None:
    bad_envelope = CASES[15].sent[0]
    _, refused = door(bad_envelope)
    [refusal] = refused
    assert refusal.kept is not None
    kept = orjson.loads(refusal.kept)
    assert kept["MaHoSo"] == "000.00.19.H16-261116-0017"
    assert "session" not in kept
    assert "data" not in kept
    _, again = door(Sent(kept, bad_envelope.at))
    assert [r.reason for r in again] == [refusal.reason.removeprefix("data[1]: ")]


def test_file_links_are_kept_as_present_but_not_where() -> None:
    bad = {**ITEM, "KenhThucHien": "7"}
    _, [refusal] = door(Sent(bad, NOW))
    assert refusal.kept is not None
    kept = orjson.loads(refusal.kept)
    assert kept["TaiLieuNop"][0]["DuongDanTaiTepTin"] == "(file)"
    assert kept["DanhSachGiayToKetQua"][0] == {"DuongDanTepTinKetQua": "(file)"}


def test_an_undated_status_is_dated_by_arrival_but_never_before_the_items_own_dates() -> None:
    in_progress = CASES[1].sent[0].value
    early = Sent(in_progress, local("2026-11-01 00:00"))  # a producer clock far behind
    accepted, _ = door(early)
    undated = next(a.event for a in accepted if getattr(a.event, "status", None) == "IN_PROGRESS")
    assert shown(undated.occurred_at) == "2026-11-20 14:00"  # NgayTiepNhan, the latest date
    late = Sent(in_progress, NOW + timedelta(days=3))  # ahead of ingest's clock: now instead
    accepted, refused = door(late)
    assert not refused
    assert max(a.event.occurred_at for a in accepted) == NOW


def test_the_order_items_arrive_in_changes_no_count() -> None:
    """Only the time of a status with no date of its own follows the order: the first arrival
    dates it (a partition keeps a dossier's records in the order they were sent)."""
    case = CASES[14]  # sent twice, then finished
    forward, _, _ = ingest(case.sent)
    backward, _, _ = ingest(reversed(case.sent))
    assert forward.keys() == backward.keys()
    assert (
        score(a.payload for a in forward.values())[1]
        == score(a.payload for a in backward.values())[1]
    )


def test_an_item_with_no_status_date_and_no_record_time_is_dated_by_ingest() -> None:
    parsed = parse_events(orjson.dumps(CASES[1].sent[0].value), now=NOW)
    assert not parsed.refused
    assert max(a.event.occurred_at for a in parsed.accepted) == NOW


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20261116090000", "2026-11-16 09:00"),
        ("2026-11-16T09:00:00", "2026-11-16 09:00"),
        ("2026-11-16 09:00:00.123", "2026-11-16 09:00"),
        ("2026-11-16T02:00:00Z", "2026-11-16 09:00"),
        ("2026-11-16T09:00:00+07:00", "2026-11-16 09:00"),
        ("", None),
        (None, None),
        ("0001-01-01T00:00:00", None),  # an unset .NET DateTime
        (20261116090000, "2026-11-16 09:00"),  # a number, not a string
    ],
)
def test_dates_as_the_systems_write_them(value: Any, expected: str | None) -> None:
    found = time_of({"NgayTiepNhan": value}, "NgayTiepNhan")
    assert (None if found is None else shown(found)) == expected


@pytest.mark.parametrize(
    "value", ["2026-11-16", "16/11/2026 09:00", "2026111609", 2026111609, "hôm qua"]
)
def test_dates_that_are_not_a_time_are_refused(value: Any) -> None:
    with pytest.raises(NationalSyncError, match=r"NgayTiepNhan: .* is not a date"):
        time_of({"NgayTiepNhan": value}, "NgayTiepNhan")


@pytest.mark.parametrize(
    ("fields", "unit"),
    [
        ({"MaDonViXuLy": "000.00.19.H60"}, "000.00.19.H60"),
        ({"DonViXuLy": "so-tu-phap"}, "so-tu-phap"),
        ({"DonViXuLy": "Sở Tư pháp"}, "000.00.19.H22"),  # the standard MaHoSo's prefix
    ],
)
def test_the_unit_is_a_code_field_else_the_prefix_of_a_standard_dossier_code(
    fields: dict[str, str], unit: str
) -> None:
    value = item("000.00.19.H22-261116-0001", TrangThaiHoSo="4", **fields)
    accepted, refused = door(Sent(value, NOW))
    assert not refused
    assert {a.event.unit_code for a in accepted} == {unit}  # type: ignore[union-attr]


def test_a_processing_step_alone_is_read_as_one() -> None:
    step = {
        "MaHoSo": "000.00.19.H22-261116-0001",
        "ThoiDiemXuLy": "20261116100000",
        "TrangThai": "9",
    }
    [accepted], refused = door(Sent(step, NOW))
    assert not refused
    assert accepted.event.type == "DOSSIER_PROGRESS"  # type: ignore[union-attr]
    assert accepted.event.status == "COMPLETED"  # type: ignore[union-attr]
    assert accepted.event.occurred_at == datetime(2026, 11, 16, 3, 0, tzinfo=UTC)
