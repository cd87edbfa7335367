"""Reading the values of national sync records: dates, codes and flags as the field systems
write them (strings or numbers, an empty string for "not known")."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
V = TypeVar("V")

STATUSES: dict[int, str] = {
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
CHANNELS: dict[int, str] = {1: "DIRECT", 2: "ONLINE", 3: "POSTAL"}
YES_NO: dict[int, bool] = {0: False, 1: True}
# DuocThanhToanTrucTuyen: 1 through the national payment platform, 2 through the province's own
# gateway, 3 not online; 0 is what some systems send for "not paid online" too.
PAID_ONLINE: dict[int, bool] = {0: False, 1: True, 2: True, 3: False}
# DuocTaiSuDung of a submitted document: 1 and 2 are two ways of reusing digitized data.
REUSED: dict[int, bool] = {0: False, 1: True, 2: True}

_COMPACT = re.compile(r"^\d{14}$")
_ISO_WITH_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
# .NET writes an unset DateTime as its minimum value.
_UNSET_DOTNET = "0001-01-01"


class NationalSyncError(ValueError):
    """A national record, or one item of it, cannot be read; the message names the field."""


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(document: Mapping[str, Any], field: str) -> str | None:
    value = document.get(field)
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise NationalSyncError(f"{field}: expected text, got {type(value).__name__}")
    return str(value).strip()


def time_of(document: Mapping[str, Any], field: str) -> datetime | None:
    """A date as the systems write it: `yyyyMMddHHmmss`, or ISO 8601; local time unless it
    carries an offset."""
    value = document.get(field)
    if is_blank(value):
        return None
    raw = str(value).strip()
    if raw.startswith(_UNSET_DOTNET):
        return None
    try:
        if _COMPACT.match(raw):
            return datetime.strptime(raw, "%Y%m%d%H%M%S").replace(tzinfo=LOCAL)
        # A day alone is no time: due times and receipts fall within the day.
        if not isinstance(value, str) or not _ISO_WITH_TIME.match(raw):
            raise ValueError
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise NationalSyncError(
            f"{field}: {value!r} is not a date (yyyyMMddHHmmss, or ISO 8601)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=LOCAL)


def code_of(document: Mapping[str, Any], field: str, table: Mapping[int, V]) -> V | None:
    """A coded value (`"2"` or `2`) looked up in `table`; None if the field is blank."""
    value = document.get(field)
    if is_blank(value):
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError
        return table[int(str(value).strip())]
    except (ValueError, KeyError):
        allowed = ", ".join(str(key) for key in sorted(table))
        raise NationalSyncError(f"{field}: {value!r} is not one of {allowed}") from None


def flag(
    document: Mapping[str, Any], field: str, table: Mapping[int, bool] = YES_NO
) -> bool | None:
    value = document.get(field)
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return code_of(document, field, table)


def amount(document: Mapping[str, Any], field: str) -> Decimal:
    """A sum of money: `50000`, `"50000"` or `"50.000"` (thousands grouped with dots or commas)."""
    value = document.get(field)
    if is_blank(value):
        return Decimal(0)
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidOperation
        return Decimal(re.sub(r"[.,\s](?=\d{3}(\D|$))", "", str(value).strip()))
    except InvalidOperation:
        raise NationalSyncError(f"{field}: {value!r} is not an amount of money") from None


def entries(document: Mapping[str, Any], field: str) -> list[dict[str, Any]] | None:
    """A list of objects; None if the field is absent (unknown), [] if empty."""
    value = document.get(field)
    if value is None:
        return None
    if not isinstance(value, list):
        raise NationalSyncError(f"{field}: expected a list, got {type(value).__name__}")
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise NationalSyncError(f"{field}[{index}]: expected an object")
    return value


@contextlib.contextmanager
def located(where: str) -> Iterator[None]:
    """Name the entry an error is in: `DanhSachLePhi[1].Gia: …`."""
    try:
        yield
    except NationalSyncError as error:
        raise NationalSyncError(f"{where}.{error}") from None
