"""Adapter for the national sync payload (`DongBoHoSoMC` items), accepted as the one-stop
systems already send it to Cổng DVCQG, beside the project's own contract.

An item is a snapshot of a dossier. It becomes contract v1 events whose ids are derived from
their content, so re-sending the same snapshot changes nothing, and a newer snapshot adds only
what is new:
- `RECEIVED` at `NgayTiepNhan`, and each supplement's request (`NgayBoSung`) and answer
  (`NgayTiepNhanBoSung`), as status steps;
- one event for the current `TrangThaiHoSo` at its own date, carrying every field the item knows
  (due date, channel, fee, payment, electronic result, digitization, data reuse, VNeID).
`NgayHenTraMoi` (the due date moved after a supplement) is not used: the methodology already
takes the supplement's waiting time off the end of processing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
SOURCE = "DongBoHoSoMC"

STATUSES = {
    1: "SUBMITTED",
    2: "RECEIVED",
    3: "NOT_ACCEPTED",
    4: "IN_PROGRESS",
    5: "SUPPLEMENT_REQUESTED",
    6: "PAYMENT_REQUESTED",
    7: "WITHDRAWN",
    8: "SUSPENDED",
    9: "COMPLETED",
    10: "RESULT_RETURNED",
}
CHANNELS = {1: "DIRECT", 2: "ONLINE", 3: "POSTAL"}
# Where the date of the current status is, by status code; then NgayCapNhat.
STATUS_DATE_FIELDS = {
    1: ("NgayNopHoSo",),
    2: ("NgayTiepNhan",),
    9: ("NgayKetThucXuLy",),
    10: ("NgayTraKetQua", "NgayKetThucXuLy"),
}


class NationalSyncError(ValueError):
    """The item cannot be read; the message says which field and why."""


def is_national_item(document: dict[str, Any]) -> bool:
    return "MaHoSo" in document


def national_time(document: dict[str, Any], field: str) -> datetime | None:
    value = document.get(field)
    if value in (None, ""):
        return None
    text = str(value)
    try:
        if len(text) != 14 or not text.isdigit():
            raise ValueError
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=LOCAL)
    except ValueError:
        raise NationalSyncError(f"{field}: {value!r} is not a yyyyMMddHHmmss date") from None


def _code(document: dict[str, Any], field: str, table: dict[int, str]) -> str:
    value = document.get(field)
    try:
        return table[int(value)]  # type: ignore[arg-type]
    except (TypeError, ValueError, KeyError):
        raise NationalSyncError(f"{field}: {value!r} is not one of {sorted(table)}") from None


def _amount(fee: Any) -> float:
    value = fee.get("Gia") if isinstance(fee, dict) else None
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        raise NationalSyncError(f"DanhSachLePhi.Gia: {value!r} is not an amount") from None


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _has_file(items: Any, *keys: str) -> bool:
    return isinstance(items, list) and any(
        isinstance(item, dict) and any(item.get(key) for key in keys) for item in items
    )


def _fields(document: dict[str, Any]) -> dict[str, Any]:
    """What the snapshot knows of the dossier, in contract field names."""
    fields: dict[str, Any] = {"synced_to_national_portal": True}
    if document.get("MaTTHC"):
        fields["procedure_code"] = str(document["MaTTHC"])
    if (due := national_time(document, "NgayHenTra")) is not None:
        fields["due_at"] = due.isoformat()
    if document.get("KenhThucHien") is not None:
        fields["channel"] = _code(document, "KenhThucHien", CHANNELS)
    fees = document.get("DanhSachLePhi")
    if isinstance(fees, list):
        fields["fee_required"] = any(_amount(fee) > 0 for fee in fees)
    if document.get("DuocThanhToanTrucTuyen") is not None:
        fields["paid_online"] = str(document["DuocThanhToanTrucTuyen"]) in {"1", "2"}
    if "DanhSachGiayToKetQua" in document:
        fields["e_result_issued"] = _has_file(
            document["DanhSachGiayToKetQua"], "DuongDanTepTinKetQua"
        )
    if "TaiLieuNop" in document:
        fields["digitized"] = _has_file(
            document["TaiLieuNop"], "DuongDanTaiTepTin", "DuongDanTepTin", "TepDinhKem"
        )
    if "HoSoCoThanhPhanSoHoa" in document or "DuocTaiSuDung" in document:
        fields["reused_data"] = _truthy(document.get("HoSoCoThanhPhanSoHoa")) or _truthy(
            document.get("DuocTaiSuDung")
        )
    if "DuocLayTuKhoDMQG" in document:
        fields["personal_store_linked"] = _truthy(document["DuocLayTuKhoDMQG"])
    if "TaiKhoanDuocXacThucVoiVNeID" in document or "DSKetNoiCSDL" in document:
        fields["population_data_used"] = _truthy(
            document.get("TaiKhoanDuocXacThucVoiVNeID")
        ) or bool(document.get("DSKetNoiCSDL"))
    return fields


def national_events(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Contract v1 events (as JSON objects, still to be validated) for one item."""
    dossier = str(document.get("MaHoSo") or "")
    unit = document.get("DonViXuLy") or document.get("MaDonVi")
    if not dossier:
        raise NationalSyncError("MaHoSo: missing")
    if not unit:
        raise NationalSyncError("DonViXuLy: missing (the unit handling the dossier)")
    status_code = int(_code(document, "TrangThaiHoSo", {k: str(k) for k in STATUSES}))
    status = STATUSES[status_code]
    received = national_time(document, "NgayTiepNhan")
    common = {"schema_version": 1, "source": SOURCE, "dossier_code": dossier, "unit_code": unit}
    events: list[dict[str, Any]] = []

    def step(name: str, at: datetime, **extra: Any) -> None:
        event = {**common, "status": name, "occurred_at": at.isoformat(), **extra}
        events.append({"event_id": _event_id(dossier, event), **event})

    if received is not None and status != "NOT_ACCEPTED":
        step("RECEIVED", received, received_at=received.isoformat())
    supplements = document.get("DanhSachHoSoBoSung") or []
    if not isinstance(supplements, list):
        raise NationalSyncError("DanhSachHoSoBoSung: expected a list")
    last_request: datetime | None = None
    for index, supplement in enumerate(supplements):
        if not isinstance(supplement, dict):
            raise NationalSyncError(f"DanhSachHoSoBoSung.{index}: expected an object")
        requested = national_time(supplement, "NgayBoSung")
        if requested is None:
            raise NationalSyncError(f"DanhSachHoSoBoSung.{index}.NgayBoSung: missing")
        step("SUPPLEMENT_REQUESTED", requested)
        last_request = max(last_request or requested, requested)
        if (supplied := national_time(supplement, "NgayTiepNhanBoSung")) is not None:
            step("SUPPLEMENTED", supplied)

    at = _status_time(document, status_code, last_request)
    snapshot = {**common, "status": status, "occurred_at": at.isoformat(), **_fields(document)}
    if received is not None:
        snapshot["received_at"] = received.isoformat()
    events.append({"event_id": _event_id(dossier, snapshot), **snapshot})
    return events


def _status_time(
    document: dict[str, Any], status_code: int, last_request: datetime | None
) -> datetime:
    if status_code == 5 and last_request is not None:
        return last_request
    for field in (*STATUS_DATE_FIELDS.get(status_code, ()), "NgayCapNhat"):
        if (at := national_time(document, field)) is not None:
            return at
    wanted = " or ".join((*STATUS_DATE_FIELDS.get(status_code, ()), "NgayCapNhat"))
    raise NationalSyncError(f"TrangThaiHoSo {status_code}: needs the date of the status ({wanted})")


def _event_id(dossier: str, event: dict[str, Any]) -> str:
    digest = hashlib.sha256(orjson.dumps(event, option=orjson.OPT_SORT_KEYS)).hexdigest()[:20]
    return f"dbmc:{dossier}:{digest}"[:128]
