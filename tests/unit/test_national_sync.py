"""The national sync payload (DongBoHoSoMC) read as it is, mapped onto contract v1 events."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from shared.events import DossierStatusEvent, Refusal, normalized_payload, parse_events
from shared.rules.dossier import apply_event, empty_state, read_facts
from shared.rules.ontime import evaluate

ITEM = {
    "MaHoSo": "000.00.19.H60-261116-0001",
    "MaTTHC": "1.004227",
    "DonViXuLy": "so-tu-phap",
    "NgayTiepNhan": "20261116090000",
    "NgayHenTra": "20261119170000",
    "TrangThaiHoSo": 9,
    "NgayKetThucXuLy": "20261120100000",
    "KenhThucHien": 2,
    "DuocThanhToanTrucTuyen": 1,
    "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "Gia": 50000}],
    "DanhSachGiayToKetQua": [{"DuongDanTepTinKetQua": "https://example/ketqua.pdf"}],
    "TaiLieuNop": [{"DuongDanTaiTepTin": "https://example/to-khai.pdf"}],
    "TaiKhoanDuocXacThucVoiVNeID": 1,
    "DanhSachHoSoBoSung": [
        {"NgayBoSung": "20261117100000", "NgayTiepNhanBoSung": "20261118100000"}
    ],
}
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def events_of(item: dict) -> list[DossierStatusEvent]:
    result = parse_events(orjson.dumps(item), now=NOW)
    assert not isinstance(result, Refusal), result
    return result  # type: ignore[return-value]


def test_an_item_becomes_the_steps_of_the_dossier() -> None:
    events = events_of(ITEM)
    assert [e.status for e in events] == [
        "RECEIVED",
        "SUPPLEMENT_REQUESTED",
        "SUPPLEMENTED",
        "COMPLETED",
    ]
    snapshot = events[-1]
    assert snapshot.occurred_at == datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 10:00 local
    assert snapshot.channel == "ONLINE"
    assert (snapshot.fee_required, snapshot.paid_online, snapshot.e_result_issued) == (
        True,
        True,
        True,
    )
    assert (snapshot.digitized, snapshot.population_data_used) == (True, True)
    assert snapshot.synced_to_national_portal is True


def test_the_on_time_rules_apply_to_it_like_to_any_dossier() -> None:
    state = empty_state()
    for event in events_of(ITEM):
        apply_event(state, normalized_payload(event))
    outcome = evaluate(read_facts(state), NOW)
    # Finished on 20/11 10:00, due 19/11 17:00, but a day waiting for the citizen is taken off.
    assert (outcome.finished, outcome.on_time) == (True, True)


def test_sending_the_same_item_again_gives_the_same_event_ids() -> None:
    assert [e.event_id for e in events_of(ITEM)] == [e.event_id for e in events_of(dict(ITEM))]
    later = dict(ITEM, TrangThaiHoSo=10, NgayTraKetQua="20261120150000")
    first, again = events_of(ITEM), events_of(later)
    assert [e.event_id for e in first[:3]] == [e.event_id for e in again[:3]]  # steps known
    assert again[-1].status == "RESULT_RETURNED"
    assert again[-1].event_id != first[-1].event_id


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"NgayTiepNhan": "2026-11-16"}, "NgayTiepNhan: '2026-11-16' is not a yyyyMMddHHmmss date"),
        ({"TrangThaiHoSo": 42}, "TrangThaiHoSo: 42 is not one of"),
        ({"KenhThucHien": 9}, "KenhThucHien: 9 is not one of [1, 2, 3]"),
        ({"DonViXuLy": None}, "DonViXuLy: missing"),
        ({"NgayKetThucXuLy": None}, "TrangThaiHoSo 9: needs the date of the status"),
        ({"MaTTHC": "bad code!"}, "procedure_code: String should match pattern"),
    ],
)
def test_an_unreadable_item_is_refused_whole_with_the_national_field_named(
    change: dict, reason: str
) -> None:
    result = parse_events(orjson.dumps({**ITEM, **change}), now=NOW)
    assert isinstance(result, Refusal)
    assert result.reason.startswith("DongBoHoSoMC")
    assert reason in result.reason


def test_a_pending_supplement_in_the_snapshot_is_one_request() -> None:
    pending = {
        **ITEM,
        "TrangThaiHoSo": 5,
        "DanhSachHoSoBoSung": [{"NgayBoSung": "20261117100000"}],
    }
    state = empty_state()
    for event in events_of(pending):
        apply_event(state, normalized_payload(event))
    outcome = evaluate(read_facts(state), NOW)
    assert (outcome.supplement_requests, outcome.on_time, outcome.finished) == (1, True, False)
