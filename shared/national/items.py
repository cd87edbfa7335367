"""A `DongBoHoSoMC` item, the snapshot of a dossier a one-stop system sends to Cổng DVCQG, read as
contract events.

An item says where the dossier stands now and which dates it went through. It becomes:
- one lifecycle step (`DOSSIER_STATUS`) per date it carries: submitted (`NgayNopHoSo`), received
  (`NgayTiepNhan`), each supplement asked for and supplied (`NgayBoSung`, `NgayTiepNhanBoSung`),
  processing finished (`NgayKetThucXuLy`), result returned (`NgayTra`), refused (`NgayTuChoi`);
- a step for the current status (`TrangThaiHoSo`) when none of those dates is its own: dated by
  `NgayCapNhat` if the system sends one, else by when the item arrived (the record's time, never
  earlier than the latest date the item carries);
- one `DOSSIER_UPDATE` with every fact the item states (due date, channel, fees, payment, results,
  digitization, data reuse, VNeID), dated the same way, so that a later item's facts win.

Event ids are derived from content, so the same item sent again is stored once. A time taken from
the item's arrival is left out of that content: sent twice, an item whose status has no date of its
own still gives one event, dated by its first arrival.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from shared.national.values import (
    CHANNELS,
    PAID_ONLINE,
    REUSED,
    STATUSES,
    NationalSyncError,
    amount,
    code_of,
    entries,
    flag,
    located,
    text,
    time_of,
)

SERVICE = "DongBoHoSoMC"
STATUS_CODES = {code: code for code in STATUSES}
SUPPLEMENT_REQUEST = 5
NOT_ACCEPTED = 3
# Where a system names the unit by code; `DonViXuLy` is often the unit's name.
UNIT_CODE_FIELDS = ("MaDonViXuLy", "MaDonVi", "DonViXuLy")
_CODE = re.compile(r"^[\w.\-/:]{1,64}$")
# A dossier code of the national standard: <unit's identification code>-<yyMMdd>-<number>.
_STANDARD_DOSSIER_CODE = re.compile(r"^(\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}(?:\.\d+)*)-\d{6}-\d+$")
# Dates of things that happened (not promises such as NgayHenTra): the latest of them bounds a
# time inferred from the item's arrival.
EVENT_DATES = (
    "NgayNopHoSo",
    "NgayTiepNhan",
    "NgayKetThucXuLy",
    "NgayTra",
    "NgayTraKetQua",
    "NgayTuChoi",
    "NgayCapNhat",
)
# The date of each current status, in the order looked for; then NgayCapNhat.
STATUS_DATES: dict[int, tuple[str, ...]] = {
    1: ("NgayNopHoSo",),
    2: ("NgayTiepNhan",),
    3: ("NgayTuChoi",),
    7: ("NgayKetThucXuLy",),
    8: ("NgayTuChoi", "NgayKetThucXuLy"),
    9: ("NgayKetThucXuLy",),
    10: ("NgayTra", "NgayTraKetQua"),
}
FILE_FIELDS = ("DuongDanTaiTepTin", "DuongDanTepTin", "TepDinhKem")
# The national field each contract field comes from, to name it when the contract refuses it.
FIELD_SOURCES = {
    "dossier_code": "MaHoSo",
    "unit_code": "DonViXuLy",
    "procedure_code": "MaTTHC",
    "received_at": "NgayTiepNhan",
    "due_at": "NgayHenTra",
}


@dataclass(frozen=True, slots=True)
class Translated:
    """A contract event (as JSON, still to be validated) made from a national record."""

    event: dict[str, Any]
    # What makes a redelivery a duplicate: the event's content, less a time inferred from the
    # record's arrival.
    identity: bytes


@dataclass(frozen=True, slots=True)
class Supplement:
    requested: datetime
    supplied: datetime | None
    due_before: datetime | None


def item_events(item: Mapping[str, Any], arrived_at: datetime) -> list[Translated]:
    """The contract events of one item; `arrived_at` is when the record reached the broker."""
    dossier = text(item, "MaHoSo")
    if dossier is None:
        raise NationalSyncError("MaHoSo: missing")
    unit = dossier_unit(item, dossier)
    status = code_of(item, "TrangThaiHoSo", STATUS_CODES)
    if status is None:
        raise NationalSyncError("TrangThaiHoSo: missing")
    found = supplements(item)
    stated = facts(item, found)
    updated = time_of(item, "NgayCapNhat")
    inferred = max(arrived_at, latest_date(item, found) or arrived_at)
    common = {"schema_version": 1, "source": SERVICE, "dossier_code": dossier, "unit_code": unit}
    events = [
        translated(common, {"status": name, **_received(name, at)}, at)
        for name, at in dated_steps(item, status, found)
    ]
    if status != SUPPLEMENT_REQUEST and status_date(item, status, found) is None:
        # No date of its own: when the item arrived. (A supplement request is dated by its
        # record; without one, nothing pauses until the record comes.)
        events.append(translated(common, {"status": STATUSES[status]}, inferred, timeless=True))
    update = {"type": "DOSSIER_UPDATE", **stated}
    events.append(translated(common, update, updated or inferred, timeless=updated is None))
    return events


def translated(
    common: Mapping[str, Any], content: Mapping[str, Any], at: datetime, timeless: bool = False
) -> Translated:
    """An event of `content` at `at`; `timeless` when `at` is only when the record arrived."""
    body = {**common, **content}
    identity = _digest(body if timeless else {**body, "occurred_at": at})
    event_id = f"dbmc:{common['dossier_code']}:{identity.hex()[:20]}"
    return Translated({"event_id": event_id, **body, "occurred_at": at}, identity)


def _digest(content: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).digest()


def _received(status: str, at: datetime) -> dict[str, datetime]:
    return {"received_at": at} if status == "RECEIVED" else {}


def dossier_unit(item: Mapping[str, Any], dossier_code: str) -> str:
    """The handling unit's code: a code field, else the prefix of a standard dossier code."""
    for field in UNIT_CODE_FIELDS:
        value = text(item, field)
        if value is not None and _CODE.match(value):
            return value
    if match := _STANDARD_DOSSIER_CODE.match(dossier_code):
        return match.group(1)
    named = text(item, "DonViXuLy")
    if named is not None:
        raise NationalSyncError(
            f"DonViXuLy: {named!r} is a name, not a unit code, and MaHoSo carries none"
            " (send MaDonViXuLy, or MaHoSo as <mã định danh>-<yyMMdd>-<số>)"
        )
    raise NationalSyncError("DonViXuLy: missing (the unit handling the dossier)")


def supplements(item: Mapping[str, Any]) -> list[Supplement]:
    found = []
    for index, entry in enumerate(entries(item, "DanhSachHoSoBoSung") or []):
        with located(f"DanhSachHoSoBoSung[{index}]"):
            requested = time_of(entry, "NgayBoSung")
            if requested is None:
                raise NationalSyncError("NgayBoSung: missing (when it was asked for)")
            supplied = time_of(entry, "NgayTiepNhanBoSung")
            found.append(Supplement(requested, supplied, time_of(entry, "NgayHenTraTruoc")))
    return sorted(found, key=lambda s: s.requested)


def facts(item: Mapping[str, Any], found: list[Supplement]) -> dict[str, Any]:
    """What the item states of the dossier, in contract field names; absent means unknown."""
    stated: dict[str, Any] = {"synced_to_national_portal": True}
    if (procedure := text(item, "MaTTHC")) is not None:
        stated["procedure_code"] = procedure
    if (received := time_of(item, "NgayTiepNhan")) is not None:
        stated["received_at"] = received
    # The due date as first promised: the rules take a supplement's wait off the end, so the
    # date a system moved after a supplement (NgayHenTraMoi) would count the wait twice.
    first_due = next((s.due_before for s in found if s.due_before is not None), None)
    if (due := first_due or time_of(item, "NgayHenTra")) is not None:
        stated["due_at"] = due
    if (channel := code_of(item, "KenhThucHien", CHANNELS)) is not None:
        stated["channel"] = channel
    if (fees := entries(item, "DanhSachLePhi")) is not None:
        stated["fee_required"] = any(_fee(index, fee) > 0 for index, fee in enumerate(fees))
    if (paid := flag(item, "DuocThanhToanTrucTuyen", PAID_ONLINE)) is not None:
        stated["paid_online"] = paid
    if (results := entries(item, "DanhSachGiayToKetQua")) is not None:
        stated["e_result_issued"] = any(text(r, "DuongDanTepTinKetQua") for r in results)
    stated |= documents(item)
    vneid = flag(item, "TaiKhoanDuocXacThucVoiVNeID")
    databases = entries(item, "DSKetNoiCSDL")
    if vneid is not None or databases is not None:
        stated["population_data_used"] = bool(vneid) or bool(databases)
    return stated


def _fee(index: int, fee: Mapping[str, Any]) -> Any:
    with located(f"DanhSachLePhi[{index}]"):
        return amount(fee, "Gia")


def documents(item: Mapping[str, Any]) -> dict[str, bool]:
    """Digitization (4.2), reuse of digitized data (4.3) and the citizen's store (4.4), from the
    submitted documents (`TaiLieuNop`) and the item's own flags."""
    digitized: list[bool] = []
    reused: list[bool | None] = [
        flag(item, "HoSoCoThanhPhanSoHoa"),
        flag(item, "DuocTaiSuDung", REUSED),
    ]
    stored: list[bool | None] = [flag(item, "DuocLayTuKhoDMQG")]
    for index, document in enumerate(entries(item, "TaiLieuNop") or []):
        with located(f"TaiLieuNop[{index}]"):
            if flag(document, "IsDeleted"):
                continue
            has_file = any(text(document, field) for field in FILE_FIELDS)
            digitized.append(has_file or bool(flag(document, "DuocSoHoa")))
            reused.append(flag(document, "DuocTaiSuDung", REUSED))
            stored.append(flag(document, "DuocLayTuKhoDMQG"))
    stated: dict[str, bool] = {}
    if "TaiLieuNop" in item:
        stated["digitized"] = any(digitized)
    if any(value is not None for value in reused):
        stated["reused_data"] = any(reused)
    if any(value is not None for value in stored):
        stated["personal_store_linked"] = any(stored)
    return stated


def status_date(item: Mapping[str, Any], status: int, found: list[Supplement]) -> datetime | None:
    """The date the item gives for its current status, if it gives one."""
    if status == SUPPLEMENT_REQUEST:
        return found[-1].requested if found else None
    for field in (*STATUS_DATES.get(status, ()), "NgayCapNhat"):
        if (at := time_of(item, field)) is not None:
            return at
    return None


def latest_date(item: Mapping[str, Any], found: list[Supplement]) -> datetime | None:
    dates = [time_of(item, field) for field in EVENT_DATES]
    dates += [s.requested for s in found] + [s.supplied for s in found]
    return max((d for d in dates if d is not None), default=None)


def dated_steps(
    item: Mapping[str, Any], status: int, found: list[Supplement]
) -> list[tuple[str, datetime]]:
    """(status, when) for every lifecycle date the item carries, its current status's included."""
    steps: list[tuple[str, datetime]] = []
    if (submitted := time_of(item, "NgayNopHoSo")) is not None:
        steps.append(("SUBMITTED", submitted))
    if status != NOT_ACCEPTED and (received := time_of(item, "NgayTiepNhan")) is not None:
        steps.append(("RECEIVED", received))
    for supplement in found:
        steps.append(("SUPPLEMENT_REQUESTED", supplement.requested))
        if supplement.supplied is not None:
            steps.append(("SUPPLEMENTED", supplement.supplied))
    if status == 10 and (finished := time_of(item, "NgayKetThucXuLy")) is not None:
        steps.append(("COMPLETED", finished))
    if status != SUPPLEMENT_REQUEST and (at := status_date(item, status, found)) is not None:
        steps.append((STATUSES[status], at))
    return list(dict.fromkeys(steps))
