"""A `CapNhatTienDoHoSoMC` step, one step of a dossier's processing as a one-stop system reports
it to Cổng DVCQG, read as a contract `DOSSIER_PROGRESS` event.

Its time is `ThoiDiemXuLy`; its `TrangThai` is the dossier's national status from then on, which
the dossier rules read as a lifecycle step. The step's department, the handler's title and the
step's own dates are kept; the handler's name (`NguoiXuLy`) and the free text (`NoiDungXuLy`,
which may name the applicant) are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.national.items import STATUS_CODES, Translated, translated
from shared.national.values import STATUSES, NationalSyncError, code_of, text, time_of

SERVICE = "CapNhatTienDoHoSoMC"
# The contract's limit on names.
MAX_NAME = 255
FIELD_SOURCES = {
    "dossier_code": "MaHoSo",
    "step_started_at": "NgayBatDau",
    "step_due_at": "NgayKetThucTheoQuyDinh",
}


def progress_events(step: Mapping[str, Any], arrived_at: datetime) -> list[Translated]:
    """The one event of a processing step (`arrived_at` is not needed: a step is dated)."""
    dossier = text(step, "MaHoSo")
    if dossier is None:
        raise NationalSyncError("MaHoSo: missing")
    at = time_of(step, "ThoiDiemXuLy")
    if at is None:
        raise NationalSyncError("ThoiDiemXuLy: missing (when the step was taken)")
    content: dict[str, Any] = {"type": "DOSSIER_PROGRESS"}
    if (status := code_of(step, "TrangThai", STATUS_CODES)) is not None:
        content["status"] = STATUSES[status]
    for field, name in (("PhongBanXuLy", "department"), ("ChucDanh", "handler_title")):
        if (value := text(step, field)) is not None:
            content[name] = value[:MAX_NAME]
    for field, name in (
        ("NgayBatDau", "step_started_at"),
        ("NgayKetThucTheoQuyDinh", "step_due_at"),
    ):
        if (moment := time_of(step, field)) is not None:
            content[name] = moment
    common = {"schema_version": 1, "source": SERVICE, "dossier_code": dossier}
    return [translated(common, content, at)]
