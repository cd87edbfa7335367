"""The simulated province: its units, each with a service-quality profile of its own.

The named departments and communes are those of Thái Nguyên's reports (see the seeds); more
communes are generated so the province has about a hundred units, as it does after 2025.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

PROVINCE_CODE = "19"
PROVINCE_NAME = "Tỉnh Thái Nguyên"

DEPARTMENTS = (
    "Thanh tra tỉnh",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Nội vụ",
    "Sở Tư pháp",
    "Ban quản lý các Khu công nghiệp tỉnh",
    "Sở Khoa học và Công nghệ",
    "Văn phòng UBND tỉnh",
    "Sở Nông nghiệp và Môi trường",
    "Sở Tài chính",
    "Sở Xây dựng",
    "Sở Công Thương",
    "Sở Y tế",
    "Sở Giáo dục và Đào tạo",
    "Sở Dân tộc và Tôn giáo",
    "Công an tỉnh",
)
COMMUNES = (
    "Xã Lam Vỹ",
    "Xã Phúc Lộc",
    "Xã Nam Hòa",
    "Phường Quyết Thắng",
    "Phường Vạn Xuân",
    "Xã Đại Từ",
    "Phường Phúc Thuận",
    "Phường Trung Thành",
    "Phường Bá Xuyên",
    "Xã Điềm Thụy",
    "Xã Tân Khánh",
    "Xã Dân Tiến",
    "Xã Tân Cương",
    "Xã Cường Lợi",
    "Xã Tân Thành",
    "Xã An Khánh",
    "Xã Trại Cau",
    "Xã La Hiên",
    "Xã Thượng Minh",
)
_SYLLABLES = (
    "An", "Bình", "Hòa", "Phú", "Thịnh", "Đồng", "Quang", "Minh", "Hợp", "Yên", "Vĩnh", "Lương",
    "Sơn", "Hà", "Kim", "Linh", "Trung", "Hưng", "Lạc", "Thái", "Văn", "Khe", "Mỹ", "Đức",
)  # fmt: skip


def slug(name: str) -> str:
    """ASCII code from a Vietnamese name: 'Xã Lam Vỹ' -> 'xa-lam-vy'."""
    text = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return "-".join("".join(c if c.isalnum() else " " for c in text).split())


@dataclass(frozen=True, slots=True)
class Profile:
    """How well a unit serves: probabilities the simulator draws its dossiers from."""

    dossiers_per_week: float
    on_time: float
    online: float
    synced: float
    e_result: float
    digitized: float
    reused: float
    personal_store: float
    population_data: float
    paid_online: float
    supplement: float
    unsatisfied: float
    complaint: float


@dataclass(frozen=True, slots=True)
class SimUnit:
    code: str
    name: str
    level: str
    profile: Profile


def _profile(rng: random.Random, weekly: float, skill: float) -> Profile:
    """`skill` in [0, 1] shifts every rate together: good units are good at most things."""

    def rate(low: float, high: float) -> float:
        return min(1.0, max(0.0, low + (high - low) * (0.6 * skill + 0.4 * rng.random())))

    return Profile(
        dossiers_per_week=weekly * rng.uniform(0.5, 1.6),
        on_time=rate(0.9, 0.999),
        online=rate(0.55, 0.97),
        synced=rate(0.95, 1.0),
        e_result=rate(0.55, 0.97),
        digitized=rate(0.6, 0.98),
        reused=rate(0.5, 0.95),
        personal_store=rate(0.2, 0.8),
        population_data=rate(0.4, 0.95),
        paid_online=rate(0.6, 0.97),
        supplement=rate(0.08, 0.01),
        unsatisfied=rate(0.05, 0.002),
        complaint=rate(0.02, 0.001),
    )


def build_province(seed: int = 766, communes: int = 85) -> list[SimUnit]:
    """The province, its departments and `communes` communes, deterministic for a seed."""
    rng = random.Random(seed)
    units = [
        SimUnit(slug(name), name, "DEPARTMENT", _profile(rng, 280, rng.random()))
        for name in DEPARTMENTS
    ]
    names = list(COMMUNES)
    while len(names) < communes:
        name = f"Xã {rng.choice(_SYLLABLES)} {rng.choice(_SYLLABLES)}"
        if name not in names and len(set(name.split()[1:])) == 2:
            names.append(name)
    units += [
        SimUnit(slug(name), name, "COMMUNE", _profile(rng, 130, rng.random()))
        for name in names[:communes]
    ]
    return units
