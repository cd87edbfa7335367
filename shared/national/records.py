"""A Kafka record in the national sync format: one item, one processing step, or the adapter's
envelope (`{"session", "madonvi", "service", "isUpdating", "data": [...]}`) as the systems post
it to Cổng DVCQG.

An envelope is read item by item: a bad item is refused alone, named by its place
(`data[3]`), and its neighbours are read as usual. A refused part is kept (in the dead letters)
with only the fields this adapter reads, file links blanked: never the applicant's identity, the
session token, or anything else the item carried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from shared.jsontext import NUL_REASON, holds_nul
from shared.national import items, progress
from shared.national.items import Translated
from shared.national.values import NationalSyncError

Translate = Callable[[Mapping[str, Any], datetime], list[Translated]]
SERVICES: dict[str, Translate] = {
    items.SERVICE: items.item_events,
    progress.SERVICE: progress.progress_events,
}
FIELD_SOURCES: dict[str, Mapping[str, str]] = {
    items.SERVICE: items.FIELD_SOURCES,
    progress.SERVICE: progress.FIELD_SOURCES,
}

# What a kept copy holds of each kind of part: a field's value (True), whether a file link was
# there (LINK), or, for a list of objects, these fields of each.
LINK = "link"
Shape = Mapping[str, Any]
_FILE = {"DuongDanTaiTepTin": LINK, "DuongDanTepTin": LINK, "TepDinhKem": LINK}
ITEM_SHAPE: Shape = {
    **dict.fromkeys(
        (
            "MaHoSo",
            "MaTTHC",
            "MaDonViXuLy",
            "MaDonVi",
            "DonViXuLy",
            "TrangThaiHoSo",
            "KenhThucHien",
            "NgayHenTra",
            *items.EVENT_DATES,
            "DuocThanhToanTrucTuyen",
            "HoSoCoThanhPhanSoHoa",
            "DuocTaiSuDung",
            "DuocLayTuKhoDMQG",
            "TaiKhoanDuocXacThucVoiVNeID",
        ),
        True,
    ),
    "DanhSachLePhi": {"Gia": True},
    "DanhSachGiayToKetQua": {"DuongDanTepTinKetQua": LINK},
    "TaiLieuNop": {
        **_FILE,
        **dict.fromkeys(("IsDeleted", "DuocSoHoa", "DuocTaiSuDung", "DuocLayTuKhoDMQG"), True),
    },
    "DanhSachHoSoBoSung": dict.fromkeys(
        ("NgayBoSung", "NgayTiepNhanBoSung", "NgayHenTraTruoc", "NgayHenTraMoi"), True
    ),
    "DSKetNoiCSDL": {"MaCSDL": True},
}
STEP_SHAPE: Shape = dict.fromkeys(
    (
        "MaHoSo",
        "ThoiDiemXuLy",
        "TrangThai",
        "PhongBanXuLy",
        "ChucDanh",
        "NgayBatDau",
        "NgayKetThucTheoQuyDinh",
    ),
    True,
)
ENVELOPE_SHAPE: Shape = dict.fromkeys(("service", "madonvi", "isUpdating", "MaHoSo"), True)


@dataclass(frozen=True, slots=True)
class Part:
    """One item or step of a national record, read: its events, or why it was refused."""

    # Its place in the record: "data[3]" in an envelope, "" for a record that is one item.
    where: str
    service: str
    # What a dead letter of it holds.
    kept: bytes
    events: tuple[Translated, ...] = ()
    error: str | None = None

    @property
    def field_sources(self) -> Mapping[str, str]:
        """The national field each contract field of its events comes from."""
        return FIELD_SOURCES.get(self.service, {})


def is_national(document: Mapping[str, Any]) -> bool:
    """An envelope, an item or a step, rather than a contract event."""
    return "service" in document or "MaHoSo" in document


def read_national(document: Mapping[str, Any], arrived_at: datetime) -> list[Part]:
    """The parts of a national record; `arrived_at` dates what the record leaves undated."""
    if "service" not in document:
        alone = progress.SERVICE if _is_step(document) else items.SERVICE
        return [_part("", alone, document, arrived_at)]
    service = document.get("service")
    kept = _dump(keep(document, ENVELOPE_SHAPE))
    if not isinstance(service, str) or service not in SERVICES:
        read = " and ".join(SERVICES)
        return [
            Part(
                "",
                str(service),
                kept,
                error=f"service {service!r} is not a dossier update: only {read} are read",
            )
        ]
    data = document.get("data")
    if not isinstance(data, list) or not data:
        error = f"{service} data: expected a non-empty list of items"
        return [Part("", service, kept, error=error)]
    return [_part(f"data[{index}]", service, item, arrived_at) for index, item in enumerate(data)]


def _is_step(document: Mapping[str, Any]) -> bool:
    return "ThoiDiemXuLy" in document and "TrangThaiHoSo" not in document


def _part(where: str, service: str, item: Any, arrived_at: datetime) -> Part:
    if not isinstance(item, dict):
        error = f"{service}: expected an object, got {_kind(item)}"
        return Part(where, service, _dump(None), error=error)
    shape = STEP_SHAPE if service == progress.SERVICE else ITEM_SHAPE
    kept = _dump(keep(item, shape))
    if holds_nul(item):
        return Part(where, service, kept, error=f"{service}: {NUL_REASON}")
    try:
        return Part(where, service, kept, tuple(SERVICES[service](item, arrived_at)))
    except NationalSyncError as error:
        return Part(where, service, kept, error=f"{service} {error}")


def keep(document: Mapping[str, Any], shape: Shape) -> dict[str, Any]:
    """The fields of `document` that `shape` names, and nothing else."""
    kept: dict[str, Any] = {}
    for field, rule in shape.items():
        if field not in document:
            continue
        value = document[field]
        if rule is True:
            kept[field] = value if _plain(value) else f"({_kind(value)})"
        elif rule == LINK:
            kept[field] = "(file)" if value else value
        elif isinstance(value, list):
            kept[field] = [keep(v, rule) if isinstance(v, dict) else None for v in value]
    return kept


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _kind(value: Any) -> str:
    return "a list" if isinstance(value, list) else type(value).__name__


def _dump(value: Any) -> bytes:
    return orjson.dumps(value)
