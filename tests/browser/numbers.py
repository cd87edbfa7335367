"""Numbers as the dashboard writes them (Intl.NumberFormat("vi-VN"), at most 2 decimals)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DASH = "—"


def vn(value: float | None) -> str:
    """1234.5 → "1.234,5"; None → "—"."""
    if value is None:
        return DASH
    rounded = Decimal(repr(value)).quantize(Decimal("0.01"), ROUND_HALF_UP).normalize()
    sign = "-" if rounded < 0 else ""
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"{sign}{grouped}{',' + fraction if fraction else ''}"


def signed(value: float | None) -> str:
    """The change of points or rank: "+1,5", "−2", "0"."""
    if value is None:
        return DASH
    if value > 0:
        return f"+{vn(value)}"
    if value < 0:
        return f"−{vn(-value)}"
    return "0"


def days(seconds: float | None, change: bool = False) -> str:
    """A sum of seconds (2.2's numerator) as the page writes it: days, as its average."""
    if seconds is None:
        return DASH
    return f"{(signed if change else vn)(seconds / 86_400)} ngày"
