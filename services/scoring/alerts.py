"""Dossier alerts, found in the scoring transaction from the states it writes.

"Overdue" is read off every dossier the step evaluates; "due soon" also comes with no event, as
time passes: each step looks at the dossiers whose due time entered the warning horizon since the
last step. Ids name the fact (dossier and due time), so evaluating a dossier again, replaying its
events or another scoring instance finding it too records nothing new.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from shared.alerts import Alert, AlertKind, DossierDetails, Level, alert_id, stamp
from shared.rules.ontime import OVERDUE_OUTCOMES, DossierOutcome
from shared.workdays import OfficeHours

# The due-soon horizon is looked at again once it has moved this much: a scan per second.
SCAN_GRANULARITY = timedelta(seconds=1)


class DossierView(Protocol):
    """What an alert reads of a dossier: a row the step writes, or one stored before."""

    @property
    def dossier_code(self) -> str: ...
    @property
    def unit_code(self) -> str | None: ...
    @property
    def procedure_code(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def received_at(self) -> datetime | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def effective_due_at(self) -> datetime | None: ...


class DossierAlerts:
    def __init__(self, office: OfficeHours, due_soon: timedelta, max_age: timedelta) -> None:
        self.office = office
        # Working hours before the due time (of the office hours, on working days).
        self.due_soon_hours = due_soon / timedelta(hours=1)
        # Facts older than this when found (a backfill, a long outage) are history, not news.
        self.max_age = max_age

    @property
    def tz(self) -> ZoneInfo:
        return self.office.calendar.tz

    def horizon(self, now: datetime) -> datetime:
        """Dossiers due by then are due soon at `now`."""
        return self.office.hours_after(now, self.due_soon_hours)

    def of_rows(self, rows: Iterable[DossierView], now: datetime, horizon: datetime) -> list[Alert]:
        """Alerts of the dossiers overdue, or due by `horizon` (`self.horizon(now)`)."""
        alerts = []
        for row in rows:
            due = row.effective_due_at
            if due is None or row.unit_code is None:
                continue
            if row.outcome in OVERDUE_OUTCOMES and due >= now - self.max_age:
                alerts.append(self.overdue(row, due, now))
            elif row.outcome == DossierOutcome.IN_PROGRESS and now < due <= horizon:
                alerts.append(self.due_soon(row, due, now))
        return alerts

    def overdue(self, row: DossierView, due: datetime, now: datetime) -> Alert:
        return self._alert(
            AlertKind.DOSSIER_OVERDUE,
            Level.CRITICAL,
            row,
            due,
            due,
            now,
            f"Hồ sơ {row.dossier_code} đã quá hạn xử lý ({due.astimezone(self.tz):%H:%M %d/%m/%Y})",
        )

    def due_soon(self, row: DossierView, due: datetime, now: datetime) -> Alert:
        left = self.office.hours_between(now, due)
        return self._alert(
            AlertKind.DOSSIER_DUE_SOON,
            Level.WARNING,
            row,
            due,
            # When the warning was due: the moment the fact became true.
            min(self.office.hours_before(due, self.due_soon_hours), now),
            now,
            f"Hồ sơ {row.dossier_code} sắp đến hạn: còn {left:.1f} giờ làm việc"
            f" (hạn {due.astimezone(self.tz):%H:%M %d/%m/%Y})",
        )

    def _alert(
        self,
        kind: AlertKind,
        level: Level,
        row: DossierView,
        due: datetime,
        occurred_at: datetime,
        now: datetime,
        message: str,
    ) -> Alert:
        return Alert(
            alert_id=alert_id(kind, row.dossier_code, stamp(due)),
            kind=kind,
            level=level,
            unit_code=row.unit_code,
            period=None,
            occurred_at=occurred_at,
            recorded_at=now,
            message=message,
            details=DossierDetails(
                dossier_code=row.dossier_code,
                procedure_code=row.procedure_code,
                received_at=row.received_at,
                due_at=due,
                status=row.status,
            ),
        )
