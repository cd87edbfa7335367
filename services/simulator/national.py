"""The simulated province as its one-stop systems sync it to Cổng DVCQG: at every step of a
dossier, the `DongBoHoSoMC` item as the dossier then stands, posted in the adapter's envelope.

The same dossiers as the contract events give, so the two give the same counts: what the national
item has no field for stays a contract event (the citizen's rating and complaint), and a dossier
its system never synced (`synced_to_national_portal` false) never reaches DongBoHoSoMC and is sent
as contract events. Items carry a made-up applicant (name, identity number, phone, e-mail), as real
ones do, which the project must never keep.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from services.simulator.lifecycle import LOCAL, Emission
from services.simulator.province import PROVINCE_CODE

SERVICE = "DongBoHoSoMC"
# Items per envelope, as the one-stop systems batch them.
ENVELOPE_ITEMS = 25
CHANNEL_CODES = {"DIRECT": "1", "ONLINE": "2", "POSTAL": "3"}
STATUS_CODES = {
    "SUBMITTED": "1",
    "RECEIVED": "2",
    "NOT_ACCEPTED": "3",
    "IN_PROGRESS": "4",
    "SUPPLEMENT_REQUESTED": "5",
    "SUPPLEMENTED": "4",
    "PAYMENT_REQUESTED": "6",
    "COMPLETED": "9",
    "RESULT_RETURNED": "10",
}


def national_date(instant: datetime | str) -> str:
    moment = datetime.fromisoformat(instant) if isinstance(instant, str) else instant
    return moment.astimezone(LOCAL).strftime("%Y%m%d%H%M%S")


def applicant(serial: int) -> dict[str, Any]:
    """A made-up citizen: personal data a real item carries, and the index must never keep."""
    number = f"{serial:012d}"
    return {
        "ChuHoSo": f"Công dân mô phỏng {serial}",
        "SoGiayToChuHoSo": number,
        "DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": number}],
        "SoDienThoai": f"09{serial % 100_000_000:08d}",
        "Email": f"congdan{serial}@example.invalid",
    }


class NationalItems:
    """Turns one dossier's contract events into the items its one-stop system syncs."""

    def __init__(self, unit_names: dict[str, str]) -> None:
        self.unit_names = unit_names
        self.serial = 0

    def dossier(self, emissions: list[Emission]) -> list[Emission]:
        statuses = [e.event for e in emissions if "status" in e.event]
        if any(event.get("synced_to_national_portal") is False for event in statuses):
            return emissions  # never reached DongBoHoSoMC
        self.serial += 1
        item: dict[str, Any] | None = None
        synced: list[Emission] = []
        for emission in emissions:
            event = emission.event
            if "status" not in event:
                synced.append(emission)  # a rating: no field of the item holds it
                continue
            if item is None:
                item = self._first(event)
            self._apply(item, event)
            synced.append(
                Emission(emission.at, emission.topic, emission.key, copy.deepcopy(item), True)
            )
            if event.get("complaint"):
                synced.append(
                    Emission(emission.at, emission.topic, emission.key, _complaint(event))
                )
        return synced

    def _first(self, event: dict[str, Any]) -> dict[str, Any]:
        unit = event["unit_code"]
        return {
            "MaHoSo": event["dossier_code"],
            "MaTTHC": event.get("procedure_code"),
            "MaDonVi": unit,
            "DonViXuLy": self.unit_names.get(unit, unit),
            "TrichYeuHoSo": f"Hồ sơ của công dân mô phỏng {self.serial}",
            **applicant(self.serial),
        }

    def _apply(self, item: dict[str, Any], event: dict[str, Any]) -> None:
        status, at = event["status"], national_date(event["occurred_at"])
        item["TrangThaiHoSo"] = STATUS_CODES[status]
        if status == "SUBMITTED":
            item["NgayNopHoSo"] = at
            item["KenhThucHien"] = CHANNEL_CODES["ONLINE"]
        elif status == "NOT_ACCEPTED":
            item["NgayTuChoi"] = at
        elif status == "RECEIVED":
            self._received(item, event)
        elif status == "SUPPLEMENT_REQUESTED":
            item.setdefault("DanhSachHoSoBoSung", []).append(
                {
                    "NgayBoSung": at,
                    "NgayHenTraTruoc": item["NgayHenTra"],
                    "NoiDungBoSung": "Bổ sung",
                }
            )
        elif status == "SUPPLEMENTED":
            self._supplied(item, event, at)
        elif status == "PAYMENT_REQUESTED":
            item["DuocThanhToanTrucTuyen"] = "1" if event.get("paid_online") else "3"
        elif status == "COMPLETED":
            self._completed(item, event, at)
        elif status == "RESULT_RETURNED":
            item["NgayTra"] = at

    def _received(self, item: dict[str, Any], event: dict[str, Any]) -> None:
        item["NgayTiepNhan"] = national_date(event["received_at"])
        item["NgayHenTra"] = national_date(event["due_at"])
        item["KenhThucHien"] = CHANNEL_CODES[event["channel"]]
        fee = event.get("fee_required")
        item["DanhSachLePhi"] = [{"TenPhiLePhi": "Lệ phí", "Gia": "50000"}] if fee else []
        digitized = bool(event.get("digitized"))
        item["TaiLieuNop"] = [
            {
                "TenTepDinhKem": "Tờ khai",
                "MaThanhPhanHoSo": "TK01",
                "DuongDanTaiTepTin": f"files/{item['MaHoSo']}/to-khai.pdf" if digitized else "",
                "DuocSoHoa": "1" if digitized else "0",
            }
        ]
        item["TaiKhoanDuocXacThucVoiVNeID"] = "1" if event.get("population_data_used") else "0"

    @staticmethod
    def _supplied(item: dict[str, Any], event: dict[str, Any], at: str) -> None:
        record = item["DanhSachHoSoBoSung"][-1]
        record["NgayTiepNhanBoSung"] = at
        # What the systems do: the promise moves by the wait, the old one is kept beside it.
        wait = datetime.fromisoformat(event["occurred_at"]) - _local(record["NgayBoSung"])
        moved = national_date(_local(record["NgayHenTraTruoc"]) + wait)
        record["NgayHenTraMoi"] = item["NgayHenTra"] = moved

    @staticmethod
    def _completed(item: dict[str, Any], event: dict[str, Any], at: str) -> None:
        item["NgayKetThucXuLy"] = at
        link = f"files/{item['MaHoSo']}/ket-qua.pdf" if event.get("e_result_issued") else ""
        item["DanhSachGiayToKetQua"] = [{"TenGiayTo": "Kết quả", "DuongDanTepTinKetQua": link}]
        item["HoSoCoThanhPhanSoHoa"] = "1" if event.get("reused_data") else "0"
        for document in item["TaiLieuNop"]:
            document["DuocLayTuKhoDMQG"] = "1" if event.get("personal_store_linked") else "0"


def _local(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=LOCAL)


def _complaint(event: dict[str, Any]) -> dict[str, Any]:
    """The complaint about a dossier, which the item has no field for, as a contract event."""
    return {
        "event_id": f"{event['event_id']}-complaint",
        "schema_version": 1,
        "source": event["source"],
        "occurred_at": event["occurred_at"],
        "type": "DOSSIER_UPDATE",
        "dossier_code": event["dossier_code"],
        "unit_code": event["unit_code"],
        "complaint": True,
    }


def envelopes(batch: Iterable[Emission]) -> Iterator[tuple[datetime, dict[str, Any]]]:
    """The items of a batch in the adapter's envelopes, each with the time it is sent at."""
    pending: list[Emission] = []
    for emission in batch:
        pending.append(emission)
        if len(pending) == ENVELOPE_ITEMS:
            yield _envelope(pending)
            pending = []
    if pending:
        yield _envelope(pending)


def _envelope(items: list[Emission]) -> tuple[datetime, dict[str, Any]]:
    body = {
        "session": "simulated-session-token",
        "madonvi": f"000.00.00.H{PROVINCE_CODE}",
        "service": SERVICE,
        "isUpdating": "True",
        "data": [emission.event for emission in items],
    }
    return max(emission.at for emission in items), body
