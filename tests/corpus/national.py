"""National sync records as the one-stop systems send them to Cổng DVCQG, each with what it must
give: the events stored, the refusals, the dossier's lifecycle and facts, and the counts.

The items follow the field set of the systems in the field (TD's `HoSoDongBoDVC`, OpenCPS's
`DVCQGIntegrationActionImpl`): every value a string, empty strings for "not known", the unit as a
name in `DonViXuLy` and as the prefix of a standard `MaHoSo`, and an applicant whose identity
must never be kept. Counts are hand-computed from the methodology for week 2026-W47 (16–22
November 2026), evaluated on Monday 23 November at 10:00.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
PERIOD = "2026-W47"
NEXT_PERIOD = "2026-W48"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL)


NOW = local("2026-11-23 10:00")

# Personal data a real item carries (TD sends all of these): none may reach the store or a log.
APPLICANT: dict[str, Any] = {
    "ChuHoSo": "Nguyễn Văn Ánh",
    "SoGiayToChuHoSo": "019088001234",
    "DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": "019088001234"}],
    "SoDienThoai": "0912345678",
    "Email": "nguyen.van.anh@example.vn",
    "Fax": "0208385555",
    "LoaiDoiTuong": "1",
    "MaDoiTuong": "CD-77ab19f0",
    "TrichYeuHoSo": "Đăng ký khai sinh cho con của ông Nguyễn Văn Ánh",
    "GhiChu": "Liên hệ 0912345678",
}
SESSION = "eyJhbGciOiJIUzI1NiJ9.c2Vzc2lvbi1vZi10aGUtcG9ydGFs.sig"
HANDLER = "Trần Thị Bình"
IDENTITY_VALUES = (
    "Nguyễn Văn Ánh",
    "019088001234",
    "0912345678",
    "nguyen.van.anh@example.vn",
    "0208385555",
    "CD-77ab19f0",
    SESSION,
    HANDLER,
)


def item(code: str, **fields: Any) -> dict[str, Any]:
    """A `DongBoHoSoMC` item of dossier `code`, with the usual fields of a TD system."""
    return {
        "MaHoSo": code,
        "MaTTHC": "1.004227",
        "TenTTHC": "Đăng ký khai sinh",
        "MaLinhVuc": "HT",
        "TenLinhVuc": "Hộ tịch",
        "DonViXuLy": "Sở Tư pháp",
        "HinhThuc": "0",
        "NoiNopHoSo": "2",
        "ThongTinKhac": "",
        "ThongTinTra": "",
        **APPLICANT,
        **fields,
    }


def document(*, file: bool = True, **fields: Any) -> dict[str, Any]:
    """A submitted document (`TaiLieuNop`), scanned or not."""
    return {
        "TepDinhKemId": "9f1c",
        "TenTepDinhKem": "Tờ khai đăng ký khai sinh",
        "IsDeleted": "0",
        "MaThanhPhanHoSo": "TK01",
        "DuongDanTaiTepTin": "https://motcua.thainguyen.gov.vn/files/9f1c.pdf" if file else "",
        "DuocSoHoa": "1" if file else "0",
        **fields,
    }


def result(*, file: bool = True) -> dict[str, Any]:
    link = "https://motcua.thainguyen.gov.vn/ketqua/a1.pdf" if file else ""
    return {
        "TenGiayTo": "Giấy khai sinh",
        "MaThanhPhanHoSo": "KQ01",
        "GiayToId": "a1",
        "DuongDanTepTinKetQua": link,
        "MaGiayToKetQua": "KQ01",
    }


def fee(amount: str) -> dict[str, Any]:
    return {
        "TenPhiLePhi": "Lệ phí",
        "MaPhiLePhi": "LP01",
        "HinhThucThu": "1",
        "Gia": amount,
        "LoaiPhiLePhi": "1",
    }


def envelope(service: str, *data: Any) -> dict[str, Any]:
    return {
        "session": SESSION,
        "madonvi": "000.00.00.H19",
        "service": service,
        "isUpdating": "True",
        "data": list(data),
    }


def step(code: str, at: str, status: str, **fields: Any) -> dict[str, Any]:
    """A `CapNhatTienDoHoSoMC` processing step."""
    return {
        "MaHoSo": code,
        "NguoiXuLy": HANDLER,
        "ChucDanh": "Chuyên viên",
        "ThoiDiemXuLy": at,
        "PhongBanXuLy": "Phòng Hành chính tư pháp",
        "NoiDungXuLy": "Chuyển xử lý hồ sơ của ông Nguyễn Văn Ánh",
        "TrangThai": status,
        "NgayBatDau": "",
        "NgayKetThucTheoQuyDinh": "",
        **fields,
    }


def contract(code: str, unit: str, number: int, status: str, at: str, **fields: Any) -> dict:
    """A contract event of a twin: the same dossier as the project's own format states it."""
    event: dict[str, Any] = {
        "event_id": f"twin-{code}-{number}",
        "schema_version": 1,
        "source": "motcua",
        "occurred_at": local(at).isoformat(),
        "dossier_code": code,
        "unit_code": unit,
        "status": status,
    }
    for name, value in fields.items():
        event[name] = local(value).isoformat() if name.endswith("_at") else value
    return event


@dataclass(frozen=True)
class Sent:
    """One Kafka record: its value, and the time the producer stamped it with."""

    value: Mapping[str, Any]
    at: datetime


@dataclass(frozen=True)
class Expected:
    # (status, local time) of every lifecycle step, in time order.
    steps: tuple[tuple[str, str], ...]
    # Facts the dossier must end with (contract names; times as local strings).
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    name: str
    sent: tuple[Sent, ...]
    stored: int
    duplicates: int = 0
    refused: tuple[str, ...] = ()
    dossiers: Mapping[str, Expected] = field(default_factory=dict)
    # The unit's counts in week 2026-W47 (indicators only), and in 2026-W48 where given.
    unit: str | None = None
    counts: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    next_counts: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    # The same dossiers as contract events: they must give the same counts.
    twin: tuple[dict[str, Any], ...] = ()


def sent(value: Mapping[str, Any], at: str) -> tuple[Sent, ...]:
    return (Sent(value, local(at)),)


# A received dossier with nothing known of its documents, results or data: every receipt
# indicator counted, none met (a paper result is assumed required until someone says).
NOTHING_MET = {
    "1.4": (1, 1),
    "3.3": (0, 1),
    "4.1": (0, 1),
    "4.2": (0, 1),
    "4.3": (0, 1),
    "4.4": (0, 1),
    "4.5b": (0, 1),
}

A = "000.00.19.H01-261116-0001"
B = "000.00.19.H02-261120-0002"
C = "000.00.19.H03-261116-0003"
D = "000.00.19.H04-261116-0004"
E = "000.00.19.H05-261116-0005"

# In progress, sent twice, then finished.
IN_PROGRESS_O = item(
    "000.00.19.H15-261117-0015",
    KenhThucHien="2",
    NgayTiepNhan="20261117090000",
    NgayHenTra="20261120170000",
    TrangThaiHoSo="4",
    DanhSachLePhi=[fee("50000")],
    DuocThanhToanTrucTuyen="3",
    TaiLieuNop=[document()],
    DanhSachGiayToKetQua=[],
)

CASES: tuple[Case, ...] = (
    Case(
        "an online dossier finished early, its result returned (status 10)",
        sent(
            item(
                A,
                KenhThucHien="2",
                NgayNopHoSo="20261115201200",
                NgayTiepNhan="20261116090000",
                NgayHenTra="20261119170000",
                TrangThaiHoSo="10",
                NgayKetThucXuLy="20261118153000",
                NgayTra="20261119080000",
                NgayTuChoi="",
                DuocThanhToanTrucTuyen="1",
                DanhSachLePhi=[fee("50000")],
                TaiLieuNop=[document(DuocTaiSuDung="1", DuocLayTuKhoDMQG="0")],
                DanhSachGiayToKetQua=[result()],
                DanhSachHoSoBoSung=[],
                HoSoCoThanhPhanSoHoa="0",
                TaiKhoanDuocXacThucVoiVNeID="1",
                DSKetNoiCSDL=[],
            ),
            "2026-11-19 08:05",
        ),
        stored=5,
        dossiers={
            A: Expected(
                (
                    ("SUBMITTED", "2026-11-15 20:12"),
                    ("RECEIVED", "2026-11-16 09:00"),
                    ("COMPLETED", "2026-11-18 15:30"),
                    ("RESULT_RETURNED", "2026-11-19 08:00"),
                ),
                {
                    "unit_code": "000.00.19.H01",
                    "procedure_code": "1.004227",
                    "received_at": "2026-11-16 09:00",
                    "due_at": "2026-11-19 17:00",
                    "channel": "ONLINE",
                    "synced_to_national_portal": True,
                    "fee_required": True,
                    "paid_online": True,
                    "e_result_issued": True,
                    "digitized": True,
                    "reused_data": True,
                    "personal_store_linked": False,
                    "population_data_used": True,
                },
            )
        },
        unit="000.00.19.H01",
        counts={
            "1.4": (1, 1),
            "2.1": (1, 1),
            "2.2": (196_200, 1),  # 2 days 6.5 hours
            "3.3": (1, 1),
            "3.6": (1, 1),
            "4.1": (1, 1),
            "4.2": (1, 1),
            "4.3": (1, 1),
            "4.4": (0, 1),
            "4.5b": (1, 1),
            "5.4": (1, 1),
        },
        twin=(
            contract(
                A, "000.00.19.H01", 1, "SUBMITTED", "2026-11-15 20:12", procedure_code="1.004227"
            ),
            contract(
                A,
                "000.00.19.H01",
                2,
                "RECEIVED",
                "2026-11-16 09:00",
                procedure_code="1.004227",
                received_at="2026-11-16 09:00",
                due_at="2026-11-19 17:00",
                channel="ONLINE",
                synced_to_national_portal=True,
                fee_required=True,
                digitized=True,
                population_data_used=True,
            ),
            contract(
                A,
                "000.00.19.H01",
                3,
                "COMPLETED",
                "2026-11-18 15:30",
                paid_online=True,
                e_result_issued=True,
                reused_data=True,
                personal_store_linked=False,
            ),
            contract(A, "000.00.19.H01", 4, "RESULT_RETURNED", "2026-11-19 08:00"),
        ),
    ),
    Case(
        "a dossier in progress (status 4): no date of its own, dated by its arrival",
        sent(
            item(
                B,
                KenhThucHien="1",
                NgayTiepNhan="20261120140000",
                NgayHenTra="20261125170000",
                TrangThaiHoSo="4",
                NgayKetThucXuLy="",
                NgayTra="",
                DuocThanhToanTrucTuyen="0",
                DanhSachLePhi=[],
                TaiLieuNop=[document(file=False)],
                HoSoCoThanhPhanSoHoa="0",
                TaiKhoanDuocXacThucVoiVNeID="0",
            ),
            "2026-11-21 09:00",
        ),
        stored=3,
        dossiers={
            B: Expected(
                (("RECEIVED", "2026-11-20 14:00"), ("IN_PROGRESS", "2026-11-21 09:00")),
                {"fee_required": False, "paid_online": False, "digitized": False},
            )
        },
        unit="000.00.19.H02",
        counts={**NOTHING_MET, "2.1": (1, 1), "5.4": (1, 1)},
        # Still in progress within its deadline this week too.
        next_counts={"2.1": (1, 1), "5.4": (1, 1)},
        twin=(
            contract(
                B,
                "000.00.19.H02",
                1,
                "RECEIVED",
                "2026-11-20 14:00",
                procedure_code="1.004227",
                received_at="2026-11-20 14:00",
                due_at="2026-11-25 17:00",
                channel="DIRECT",
                synced_to_national_portal=True,
                fee_required=False,
                digitized=False,
                reused_data=False,
                population_data_used=False,
            ),
            contract(B, "000.00.19.H02", 2, "IN_PROGRESS", "2026-11-21 09:00", paid_online=False),
        ),
    ),
    Case(
        "a dossier in progress past its due time: overdue, still being processed",
        sent(
            item(
                C,
                KenhThucHien="2",
                NgayTiepNhan="20261116080000",
                NgayHenTra="20261118170000",
                TrangThaiHoSo="4",
                TaiLieuNop=[document()],
            ),
            "2026-11-19 10:00",
        ),
        stored=3,
        dossiers={
            C: Expected((("RECEIVED", "2026-11-16 08:00"), ("IN_PROGRESS", "2026-11-19 10:00")))
        },
        unit="000.00.19.H03",
        counts={**NOTHING_MET, "2.1": (0, 1), "5.4": (0, 1)},
        next_counts={"2.1": (0, 1), "5.4": (0, 1)},
        twin=(
            contract(
                C,
                "000.00.19.H03",
                1,
                "RECEIVED",
                "2026-11-16 08:00",
                procedure_code="1.004227",
                due_at="2026-11-18 17:00",
                channel="ONLINE",
                synced_to_national_portal=True,
                digitized=True,
            ),
            contract(C, "000.00.19.H03", 2, "IN_PROGRESS", "2026-11-19 10:00"),
        ),
    ),
    Case(
        "a supplement asked and supplied: the wait is taken off, the moved due date is not used",
        sent(
            item(
                D,
                KenhThucHien="2",
                NgayTiepNhan="20261116090000",
                NgayHenTra="20261119170000",  # moved by the system after the supplement
                TrangThaiHoSo="9",
                NgayKetThucXuLy="20261119150000",
                DanhSachHoSoBoSung=[
                    {
                        "HoSoBoSungId": 1,
                        "NguoiYeuCauBoSung": HANDLER,
                        "NoiDungBoSung": "Bổ sung bản sao giấy chứng sinh",
                        # TD writes these as .NET DateTimes, the rest as yyyyMMddHHmmss.
                        "NgayBoSung": "2026-11-17T10:00:00",
                        "NguoiTiepNhanBoSung": HANDLER,
                        "ThongTinTiepNhan": "",
                        "NgayTiepNhanBoSung": "20261118100000",
                        "TrangThaiBoSung": True,
                        "NgayHenTraTruoc": "2026-11-18T17:00:00",
                        "NgayHenTraMoi": "2026-11-19T17:00:00",
                    }
                ],
                TaiLieuNop=[document()],
                DanhSachGiayToKetQua=[result()],
                HoSoCoThanhPhanSoHoa="0",
                TaiKhoanDuocXacThucVoiVNeID="0",
            ),
            "2026-11-19 15:10",
        ),
        stored=5,
        dossiers={
            D: Expected(
                (
                    ("RECEIVED", "2026-11-16 09:00"),
                    ("SUPPLEMENT_REQUESTED", "2026-11-17 10:00"),
                    ("SUPPLEMENTED", "2026-11-18 10:00"),
                    ("COMPLETED", "2026-11-19 15:00"),
                ),
                {"due_at": "2026-11-18 17:00"},
            )
        },
        unit="000.00.19.H04",
        counts={
            **NOTHING_MET,
            # Finished 19/11 15:00, a day after its due time, but a day waiting for the citizen.
            "2.1": (1, 1),
            "2.2": (194_400, 1),
            "3.3": (1, 1),
            "4.1": (1, 1),
            "4.2": (1, 1),
            "5.4": (1, 1),
        },
        twin=(
            contract(
                D,
                "000.00.19.H04",
                1,
                "RECEIVED",
                "2026-11-16 09:00",
                procedure_code="1.004227",
                due_at="2026-11-18 17:00",
                channel="ONLINE",
                synced_to_national_portal=True,
                digitized=True,
                population_data_used=False,
            ),
            contract(D, "000.00.19.H04", 2, "SUPPLEMENT_REQUESTED", "2026-11-17 10:00"),
            contract(D, "000.00.19.H04", 3, "SUPPLEMENTED", "2026-11-18 10:00"),
            contract(
                D,
                "000.00.19.H04",
                4,
                "COMPLETED",
                "2026-11-19 15:00",
                e_result_issued=True,
                reused_data=False,
            ),
        ),
    ),
    Case(
        "two supplements asked: overdue whatever the dates",
        sent(
            item(
                E,
                KenhThucHien="1",
                NgayTiepNhan="20261116090000",
                NgayHenTra="20261120170000",
                TrangThaiHoSo="10",
                NgayKetThucXuLy="20261119160000",
                NgayTra="20261120080000",
                DanhSachHoSoBoSung=[
                    {"NgayBoSung": "20261117100000", "NgayTiepNhanBoSung": "20261117150000"},
                    {"NgayBoSung": "20261118090000", "NgayTiepNhanBoSung": "20261118140000"},
                ],
                DanhSachGiayToKetQua=[result()],
            ),
            "2026-11-20 08:10",
        ),
        stored=8,
        unit="000.00.19.H05",
        counts={
            **NOTHING_MET,
            "2.1": (0, 1),
            "2.2": (248_400, 1),  # 19/11 16:00 less the 10 hours waited, from 16/11 09:00
            "4.1": (1, 1),
            "5.4": (0, 1),
        },
    ),
    Case(
        "postal, with a fee not paid online (KenhThucHien 3, DuocThanhToanTrucTuyen 3)",
        sent(
            item(
                "000.00.19.H06-261117-0006",
                KenhThucHien="3",
                NgayTiepNhan="20261117083000",
                NgayHenTra="20261120170000",
                TrangThaiHoSo="9",
                NgayKetThucXuLy="20261119100000",
                DanhSachLePhi=[fee("30.000")],
                DuocThanhToanTrucTuyen="3",
                TaiLieuNop=[document()],
                DanhSachGiayToKetQua=[result(file=False)],
            ),
            "2026-11-19 10:05",
        ),
        stored=3,
        dossiers={
            "000.00.19.H06-261117-0006": Expected(
                (("RECEIVED", "2026-11-17 08:30"), ("COMPLETED", "2026-11-19 10:00")),
                {"channel": "POSTAL", "fee_required": True, "paid_online": False},
            )
        },
        unit="000.00.19.H06",
        counts={
            **NOTHING_MET,
            "2.1": (1, 1),
            "2.2": (178_200, 1),
            "3.6": (0, 1),
            "5.4": (1, 1),
        },
    ),
    Case(
        "not accepted at the desk (status 3): never counted",
        sent(
            item(
                "000.00.19.H07-261117-0007",
                KenhThucHien="2",
                NgayNopHoSo="20261117080000",
                TrangThaiHoSo="3",
                NgayTuChoi="20261117150000",
            ),
            "2026-11-17 15:01",
        ),
        stored=3,
        dossiers={
            "000.00.19.H07-261117-0007": Expected(
                (("SUBMITTED", "2026-11-17 08:00"), ("NOT_ACCEPTED", "2026-11-17 15:00"))
            )
        },
        unit="000.00.19.H07",
    ),
    Case(
        "withdrawn by the citizen (status 7), undated: processing ended when the item came",
        sent(
            item(
                "000.00.19.H08-261117-0008",
                KenhThucHien="1",
                NgayTiepNhan="20261117090000",
                NgayHenTra="20261124170000",
                TrangThaiHoSo="7",
            ),
            "2026-11-19 10:00",
        ),
        stored=3,
        unit="000.00.19.H08",
        counts={**NOTHING_MET, "2.1": (1, 1), "2.2": (176_400, 1), "5.4": (1, 1)},
    ),
    Case(
        "stopped (status 8), dated by its refusal (NgayTuChoi)",
        sent(
            item(
                "000.00.19.H09-261117-0009",
                KenhThucHien="1",
                NgayTiepNhan="20261117090000",
                NgayHenTra="20261119170000",
                TrangThaiHoSo="8",
                NgayTuChoi="20261118160000",
            ),
            "2026-11-20 09:00",
        ),
        stored=3,
        dossiers={
            "000.00.19.H09-261117-0009": Expected(
                (("RECEIVED", "2026-11-17 09:00"), ("SUSPENDED", "2026-11-18 16:00"))
            )
        },
        unit="000.00.19.H09",
        counts={**NOTHING_MET, "2.1": (1, 1), "2.2": (111_600, 1), "5.4": (1, 1)},
    ),
    Case(
        "waiting for the fee (status 6), paid through the province's gateway (2)",
        sent(
            item(
                "000.00.19.H10-261118-0010",
                KenhThucHien="2",
                NgayTiepNhan="20261118090000",
                NgayHenTra="20261125170000",
                TrangThaiHoSo="6",
                DanhSachLePhi=[fee("100000")],
                DuocThanhToanTrucTuyen="2",
            ),
            "2026-11-19 11:00",
        ),
        stored=3,
        dossiers={
            "000.00.19.H10-261118-0010": Expected(
                (("RECEIVED", "2026-11-18 09:00"), ("PAYMENT_REQUESTED", "2026-11-19 11:00")),
                {"paid_online": True},
            )
        },
        unit="000.00.19.H10",
        counts={**NOTHING_MET, "2.1": (1, 1), "3.6": (1, 1), "5.4": (1, 1)},
    ),
    Case(
        "submitted online, not yet received (status 1): not counted",
        sent(
            item(
                "000.00.19.H11-261122-0011",
                KenhThucHien="2",
                NgayNopHoSo="20261122210000",
                TrangThaiHoSo="1",
            ),
            "2026-11-22 21:00",
        ),
        stored=2,
        unit="000.00.19.H11",
    ),
    Case(
        "received (status 2), dated by NgayTiepNhan",
        sent(
            item(
                "000.00.19.H12-261120-0012",
                KenhThucHien="1",
                NgayTiepNhan="20261120090000",
                NgayHenTra="20261127170000",
                TrangThaiHoSo="2",
            ),
            "2026-11-20 09:01",
        ),
        stored=2,
        dossiers={"000.00.19.H12-261120-0012": Expected((("RECEIVED", "2026-11-20 09:00"),))},
        unit="000.00.19.H12",
        counts={**NOTHING_MET, "2.1": (1, 1), "5.4": (1, 1)},
    ),
    Case(
        "processed (status 9) without NgayKetThucXuLy: finished when the item came",
        sent(
            item(
                "000.00.19.H13-261116-0013",
                KenhThucHien="1",
                NgayTiepNhan="20261116090000",
                NgayHenTra="20261119170000",
                TrangThaiHoSo="9",
                NgayKetThucXuLy="",
            ),
            "2026-11-18 14:00",
        ),
        stored=3,
        unit="000.00.19.H13",
        counts={**NOTHING_MET, "2.1": (1, 1), "2.2": (190_800, 1), "5.4": (1, 1)},
    ),
    Case(
        "a system that sends NgayCapNhat: the status and the facts are dated by it",
        sent(
            item(
                "000.00.19.H14-261118-0014",
                KenhThucHien="1",
                NgayTiepNhan="20261118090000",
                NgayHenTra="20261124170000",
                TrangThaiHoSo="4",
                NgayCapNhat="20261119080000",
            ),
            "2026-11-20 12:00",
        ),
        stored=3,
        dossiers={
            "000.00.19.H14-261118-0014": Expected(
                (("RECEIVED", "2026-11-18 09:00"), ("IN_PROGRESS", "2026-11-19 08:00"))
            )
        },
        unit="000.00.19.H14",
        counts={**NOTHING_MET, "2.1": (1, 1), "5.4": (1, 1)},
    ),
    Case(
        "the same item sent twice is stored once; a later item about the dossier wins",
        (
            *sent(IN_PROGRESS_O, "2026-11-18 10:00"),
            *sent(IN_PROGRESS_O, "2026-11-18 11:00"),  # sent again an hour later
            *sent(
                {
                    **IN_PROGRESS_O,
                    "TrangThaiHoSo": "9",
                    "NgayKetThucXuLy": "20261119150000",
                    "DuocThanhToanTrucTuyen": "1",
                    "DanhSachGiayToKetQua": [result()],
                },
                "2026-11-19 16:00",
            ),
        ),
        stored=5,
        duplicates=4,
        dossiers={
            "000.00.19.H15-261117-0015": Expected(
                (
                    ("RECEIVED", "2026-11-17 09:00"),
                    ("IN_PROGRESS", "2026-11-18 10:00"),
                    ("COMPLETED", "2026-11-19 15:00"),
                ),
                {"paid_online": True, "e_result_issued": True},
            )
        },
        unit="000.00.19.H15",
        counts={
            **NOTHING_MET,
            "2.1": (1, 1),
            "2.2": (194_400, 1),
            "3.3": (1, 1),
            "3.6": (1, 1),
            "4.1": (1, 1),
            "4.2": (1, 1),
            "5.4": (1, 1),
        },
    ),
    Case(
        "the adapter's envelope: each item read alone, a bad one refused without its neighbours",
        sent(
            envelope(
                "DongBoHoSoMC",
                item(
                    "000.00.19.H16-261116-0016",
                    KenhThucHien="1",
                    NgayTiepNhan="20261116090000",
                    NgayHenTra="20261120170000",
                    TrangThaiHoSo="9",
                    NgayKetThucXuLy="20261118090000",
                ),
                item(
                    "000.00.19.H16-261116-0017",
                    NgayTiepNhan="16/11/2026 09:00",
                    TrangThaiHoSo="4",
                ),
                item(
                    "000.00.19.H16-261117-0018",
                    KenhThucHien="1",
                    NgayTiepNhan="20261117090000",
                    NgayHenTra="20261124170000",
                    TrangThaiHoSo="4",
                ),
            ),
            "2026-11-19 09:00",
        ),
        stored=6,
        refused=(
            "data[1]: DongBoHoSoMC NgayTiepNhan: '16/11/2026 09:00' is not a date"
            " (yyyyMMddHHmmss, or ISO 8601)",
        ),
        unit="000.00.19.H16",
        counts={
            **{key: (n * 2, d * 2) for key, (n, d) in NOTHING_MET.items()},
            "2.1": (2, 2),
            "2.2": (172_800, 1),
            "5.4": (2, 2),
        },
    ),
    Case(
        "processing steps (CapNhatTienDoHoSoMC): a status counts, a supplement does not, the"
        " handler's name and the free text are not kept",
        (
            *sent(
                item(
                    "000.00.19.H17-261117-0019",
                    KenhThucHien="1",
                    NgayTiepNhan="20261117090000",
                    NgayHenTra="20261120170000",
                    TrangThaiHoSo="4",
                ),
                "2026-11-17 10:00",
            ),
            *sent(
                envelope(
                    "CapNhatTienDoHoSoMC",
                    step(
                        "000.00.19.H17-261117-0019",
                        "20261117103000",
                        "4",
                        NgayBatDau="20261117103000",
                        NgayKetThucTheoQuyDinh="20261118170000",
                    ),
                    step("000.00.19.H17-261117-0019", "20261118090000", "5"),
                    step("000.00.19.H17-261117-0019", "20261119160000", "9"),
                ),
                "2026-11-19 16:05",
            ),
        ),
        stored=6,
        dossiers={
            "000.00.19.H17-261117-0019": Expected(
                (
                    ("RECEIVED", "2026-11-17 09:00"),
                    ("IN_PROGRESS", "2026-11-17 10:00"),
                    ("IN_PROGRESS", "2026-11-17 10:30"),
                    ("COMPLETED", "2026-11-19 16:00"),
                )
            )
        },
        unit="000.00.19.H17",
        counts={**NOTHING_MET, "2.1": (1, 1), "2.2": (198_000, 1), "5.4": (1, 1)},
    ),
    Case(
        "a query to the national portal (TraCuuHoSo) is no dossier update: refused whole",
        sent(
            {"session": SESSION, "madonvi": "000.00.00.H19", "service": "TraCuuHoSo", "MaHoSo": A},
            "2026-11-19 09:00",
        ),
        stored=0,
        refused=("service 'TraCuuHoSo' is not a dossier update",),
    ),
    Case(
        "items that cannot be read, each refused with the national field named",
        tuple(
            Sent(value, local("2026-11-19 09:00"))
            for value in (
                item("000.00.19.H18-261116-0020", NgayTiepNhan="2026-11-16", TrangThaiHoSo="2"),
                item("000.00.19.H18-261116-0021", KenhThucHien="9", TrangThaiHoSo="4"),
                item("HS-2026-0022", DonViXuLy="Sở Xây dựng", TrangThaiHoSo="4"),
                item("000.00.19.H18-261116-0023", TrangThaiHoSo="6", DuocThanhToanTrucTuyen="7"),
                item("000.00.19.H18-261116-0024"),
                item("000.00.19.H18-261116-0025", MaTTHC="1.004227 (cũ)", TrangThaiHoSo="4"),
                item(
                    "000.00.19.H18-261116-0026",
                    NgayTiepNhan="20261116090000",
                    NgayHenTra="20261115170000",
                    TrangThaiHoSo="4",
                ),
                item("000.00.19.H18-261116-0027", NgayTiepNhan="20271116090000", TrangThaiHoSo="2"),
                item(
                    "000.00.19.H18-261116-0028",
                    DanhSachLePhi=[fee("năm mươi nghìn")],
                    TrangThaiHoSo="4",
                ),
                envelope("CapNhatTienDoHoSoMC", step("000.00.19.H18-261116-0029", "", "4")),
                {**envelope("DongBoHoSoMC"), "data": {"MaHoSo": "000.00.19.H18-261116-0030"}},
            )
        ),
        stored=0,
        refused=(
            "DongBoHoSoMC NgayTiepNhan: '2026-11-16' is not a date",
            "DongBoHoSoMC KenhThucHien: '9' is not one of 1, 2, 3",
            "DongBoHoSoMC DonViXuLy: 'Sở Xây dựng' is a name, not a unit code",
            "DongBoHoSoMC DuocThanhToanTrucTuyen: '7' is not one of 0, 1, 2, 3",
            "DongBoHoSoMC TrangThaiHoSo: missing",
            "DongBoHoSoMC: MaTTHC (procedure_code): String should match pattern",
            "DongBoHoSoMC: due_at is before received_at",
            "NgayTiepNhan (received_at): 2027-11-16T02:00:00+00:00 is in the future",
            "DongBoHoSoMC DanhSachLePhi[0].Gia: 'năm mươi nghìn' is not an amount of money",
            "data[0]: CapNhatTienDoHoSoMC ThoiDiemXuLy: missing",
            "DongBoHoSoMC data: expected a non-empty list of items",
        ),
    ),
)


def records() -> list[Sent]:
    return [record for case in CASES for record in case.sent]


def twins() -> list[dict[str, Any]]:
    return [event for case in CASES for event in case.twin]
