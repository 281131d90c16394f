"""The invented patients of the monitor ward: Vietnamese names, and who lies in which bed.

Kept apart from :mod:`~.monitor_ward` so the ward module is about sending; an
:class:`Admission` also says how the gateway should report its patient (name order, location),
which is what tests compare the gateway's events against.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi"]
FAMILY += ["Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
# (middle, given, PID-8)
NAMES: list[tuple[str, str, Literal["M", "F"]]] = [
    ("Văn", "Hùng", "M"),
    ("Đức", "Minh", "M"),
    ("Quốc", "Bảo", "M"),
    ("Hữu", "Phúc", "M"),
    ("Thanh", "Tùng", "M"),
    ("Công", "Khánh", "M"),
    ("Minh", "Nhật", "M"),
    ("Thị", "Ánh", "F"),
    ("Thị", "Thu Hằng", "F"),
    ("Ngọc", "Lan", "F"),
    ("Thu", "Hương", "F"),
    ("Kim", "Oanh", "F"),
    ("Bảo", "Trâm", "F"),
    ("Thị", "Yến", "F"),
]


@dataclass(frozen=True)
class Admission:
    """The invented patient in a bed, and how the gateway should report them."""

    bed: str
    patient_id: str
    family: str
    middle: str
    given: str
    sex: Literal["M", "F"]
    birth_date: str  # YYYYMMDD
    point_of_care: str

    @property
    def xpn(self) -> str:
        """PID-5: family^given^middle."""
        return f"{self.family}^{self.given}^{self.middle}"

    @property
    def name(self) -> str:
        """The name as a Vietnamese reads it (family middle given), as the gateway reports it."""
        return f"{self.family} {self.middle} {self.given}"

    @property
    def location(self) -> str:
        """The event's ``bed``: PV1-3 point of care and bed, as the gateway joins them."""
        return f"{self.point_of_care}/{self.bed}"


def admit(rng: random.Random, bed: str, patient_id: str, point_of_care: str) -> Admission:
    """An invented patient for ``bed``; the same ``rng`` state gives the same patient."""
    middle, given, sex = rng.choice(NAMES)
    return Admission(
        bed=bed,
        patient_id=patient_id,
        family=rng.choice(FAMILY),
        middle=middle,
        given=given,
        sex=sex,
        birth_date=f"{rng.randrange(1935, 2006)}{rng.randrange(1, 13):02d}"
        f"{rng.randrange(1, 29):02d}",
        point_of_care=point_of_care,
    )
