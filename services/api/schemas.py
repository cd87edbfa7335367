"""Response bodies of the api, with the examples shown in its OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from shared.alerts import Alert, AlertKind, Level


class _Schema(BaseModel):
    model_config = ConfigDict(frozen=True)


class PeriodOut(_Schema):
    key: str = Field(examples=["2026-W48"])
    kind: str = Field(examples=["week"])
    start: datetime
    end: datetime
    restated_at: datetime | None = Field(
        default=None,
        description="When a late event last changed this period after it had ended, if ever.",
    )


class Change(_Schema):
    """Against the previous period of the same kind (the seed letter's last column)."""

    previous_period: str = Field(examples=["2026-W47"])
    previous_total: float = Field(examples=[88.5])
    previous_rank: int | None = Field(examples=[3])
    total: float = Field(description="Points gained (negative: lost).", examples=[0.01])
    rank: int | None = Field(description="Places gained (negative: lost).", examples=[1])


class UnitOut(_Schema):
    code: str = Field(examples=["000.00.19.H60"])
    name: str = Field(examples=["Sở Tư pháp"])
    level: str | None = Field(examples=["DEPARTMENT"])


class RankingItem(_Schema):
    rank: int = Field(examples=[1])
    unit: UnitOut
    total: float = Field(examples=[92.6])
    groups: dict[str, float] = Field(
        examples=[
            {"CKMB": 16.1, "TDGQ": 19.9, "CLGQ": 10.5, "TTTT": 9.8, "MDHL": 17.9, "MDSH": 18.4}
        ]
    )
    change: Change | None = Field(description="Null when the previous period has no data.")


class Rankings(_Schema):
    period: PeriodOut
    level: str = Field(examples=["department"])
    methodology: str = Field(examples=["qd766-portal-2026"])
    as_of: datetime | None = Field(description="The instant the counts are evaluated at.")
    items: list[RankingItem]


class GroupOut(_Schema):
    code: str = Field(examples=["TDGQ"])
    title: str = Field(examples=["Tiến độ, kết quả giải quyết"])
    points: float = Field(examples=[19.3])
    max_points: float = Field(examples=[20])


class IndicatorOut(_Schema):
    id: str = Field(examples=["2.1"])
    group: str = Field(examples=["TDGQ"])
    title: str = Field(examples=["Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn"])
    numerator: int = Field(examples=[9649])
    denominator: int = Field(examples=[10000])
    rate: float | None = Field(
        description="Percent with 2 decimals (days for 2.2); null when there is nothing to count.",
        examples=[96.49],
    )
    points: float = Field(examples=[19.3])
    max_points: float = Field(examples=[20])
    scored: bool = Field(description="False for the display-only indicators (2.2, 5.1).")
    dossiers: str | None = Field(
        default=None,
        description="Where the dossiers behind the numerator and denominator are listed.",
        examples=["/units/so-tu-phap/indicators/2.1/dossiers?period=2026-W48"],
    )
    catalogue: str | None = Field(
        default=None,
        description="Where the procedures (communes, for 4.6) behind the counts are listed.",
        examples=["/units/so-tu-phap/indicators/3.1/catalogue?period=2026-W48"],
    )
    feedback: str | None = Field(
        default=None,
        description="Where the citizens' feedback behind the counts is listed (5.1, 5.2, 5.3).",
        examples=["/units/so-tu-phap/indicators/5.2/feedback?period=2026-W48"],
    )


class UnitDetail(_Schema):
    unit: UnitOut
    period: PeriodOut
    methodology: str
    as_of: datetime | None
    total: float = Field(examples=[88.51])
    rank: int | None = Field(description="Among the units of its level; null for the province.")
    change: Change | None
    groups: list[GroupOut]
    indicators: list[IndicatorOut]


class OverdueItem(_Schema):
    dossier_code: str = Field(examples=["H19.01-251001-0042"])
    procedure_code: str | None = Field(examples=["1.004227"])
    status: str | None = Field(examples=["IN_PROGRESS"])
    outcome: str = Field(
        description="OVERDUE (finished late) or IN_PROGRESS_OVERDUE",
        examples=["IN_PROGRESS_OVERDUE"],
    )
    reason: str | None = Field(description="late or multiple_supplements", examples=["late"])
    received_at: datetime | None
    due_at: datetime | None
    overdue_by: float = Field(
        description="Seconds past the due date on the processing clock (less supplement waits).",
        examples=[183600.0],
    )


class OverduePage(_Schema):
    unit: UnitOut
    period: PeriodOut | None
    total: int
    page: int | None = Field(description="Deprecated: the page number asked for, if one was.")
    page_size: int
    items: list[OverdueItem]
    next_cursor: str | None = Field(
        description="Where the next page starts (`cursor=`); null on the last page.",
        examples=["WyIyMDI2LTExLTE4VDAyOjAwOjAwKzAwOjAwIiwiSDE5LjAxLTI1MTAwMS0wMDQyIl0"],
    )
    next: str | None = Field(
        description="The next page's path and query; null on the last page.",
        examples=["/units/xa-dong-hy/overdue?page_size=50&cursor=WyIyMDI2LTEx..."],
    )


class AuditItem(_Schema):
    dossier_code: str
    unit_code: str | None
    procedure_code: str | None
    status: str | None
    received_at: datetime | None
    due_at: datetime | None
    in_numerator: bool
    numerator: int = Field(description="What it adds to the numerator (seconds for 2.2).")


class FeedbackAuditItem(_Schema):
    feedback_id: str = Field(examples=["PAKN-19-000042"])
    unit_code: str | None
    status: str | None = Field(examples=["PUBLISHED"])
    received_at: datetime | None
    late: bool = Field(description="Missed a deadline, as of the last evaluation.")
    in_numerator: bool


class CatalogueAuditItem(_Schema):
    unit_code: str = Field(description="The unit whose counts it is in.", examples=["so-tu-phap"])
    code: str = Field(
        description="A procedure's code, or a commune's for 4.6.", examples=["1.004227"]
    )
    name: str
    in_numerator: bool
    reason: str = Field(examples=["at least one online dossier in the period"])


ItemT = TypeVar("ItemT", AuditItem, FeedbackAuditItem, CatalogueAuditItem)


class AuditPage(_Schema, Generic[ItemT]):
    """What an indicator counts for a unit and period: one page of its denominator, of its
    numerator or of its shortfall (in the denominator, not in the numerator), each item with
    whether, and how much, it counts in the numerator. Pages follow `next_cursor`."""

    unit: UnitOut
    period: PeriodOut
    indicator: str = Field(examples=["2.1"])
    as_of: datetime | None = Field(
        description="The instant the items are evaluated at (null for the catalogue's)."
    )
    part: str = Field(description="denominator, numerator or shortfall", examples=["shortfall"])
    total: int = Field(
        description="Members of the part: the kept count the list explains (its denominator, "
        "its numerator, or their difference for the shortfall)."
    )
    page: int | None = Field(description="Deprecated: the page number asked for, if one was.")
    page_size: int
    items: list[ItemT]
    next_cursor: str | None = Field(
        description="Where the next page starts (`cursor=`); null on the last page. A page "
        "may hold fewer items than page_size only at the end of the list.",
        examples=["WyIyMDI2LTExLTE4VDAyOjAwOjAwKzAwOjAwIiwiSDE5LjAxLTI1MTAwMS0wMDQyIl0"],
    )
    next: str | None = Field(
        description="The next page's path and query; null on the last page.",
        examples=["/units/19/indicators/2.1/dossiers?period=2026-11&part=shortfall&cursor=..."],
    )


PROCEDURE_EXAMPLE = {
    "event_id": "tthc-1.004227-2026-11-20",
    "schema_version": 1,
    "source": "csdl-tthc",
    "occurred_at": "2026-11-20T09:00:00+07:00",
    "type": "PROCEDURE",
    "procedure_code": "1.004227",
    "name": "Đăng ký khai sinh",
    "levels": ["COMMUNE"],
    "online_service": "FULL",
    "paper_result_required": True,
    "has_fee": False,
    "for_individuals": True,
}


class CatalogueAccepted(_Schema):
    accepted: int = Field(examples=[1])
    topic: str = Field(examples=["catalog.events"])


class TopicCounts(_Schema):
    topic: str
    offered: int
    stored: int
    dead_lettered: int
    duplicates: int
    balanced: bool = Field(description="offered = stored + dead_lettered + duplicates")


class Pipeline(_Schema):
    ingest: list[TopicCounts]
    dead_letters_stored: int
    events_scored: int
    scoring_lag_events: int = Field(description="Events stored but not yet scored.")
    scoring_as_of: datetime | None
    units_not_in_catalogue: list[str] = Field(
        description="Units named by dossiers or feedback that no catalogue event describes yet: "
        "counted (and in the province's total) but in no level's ranking until one does."
    )


class HealthOut(_Schema):
    status: str = Field(examples=["ok"])
    database: str = Field(examples=["ok"])


class Liveness(_Schema):
    alive: bool


class Readiness(_Schema):
    ready: bool
    reason: str = Field(examples=["ok", "database: ConnectionRefusedError"])


class ErrorOut(_Schema):
    detail: str = Field(examples=["unknown unit 'X'"])


class AlertPage(_Schema):
    """Newest first. `next_before` pages further back."""

    items: list[Alert]
    next_before: int | None = Field(description="Pass as `before` for the older alerts.")


# Ids and sequence numbers are PostgreSQL bigints: a larger number is a 422, not a failed query.
MAX_ROW_ID = 2**63 - 1


class DeadLetterOut(_Schema):
    id: int
    topic: str
    partition: int
    offset: int
    event_id: str | None
    reason: str
    dead_lettered_at: datetime
    replays: int = Field(description="Times sent to its topic again.")
    replayed_at: datetime | None


class DeadLetterPage(_Schema):
    """Newest first, without the records themselves (they may hold personal data)."""

    items: list[DeadLetterOut]
    next_before: int | None = Field(description="Pass as `before` for the older ones.")


class ReplayIn(_Schema):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(
        min_length=1, max_length=1000, description="Dead letters to send to their topic again."
    )


class ReplayOut(_Schema):
    replayed: int
    topics: dict[str, int] = Field(description="Records sent, by topic.")


WEBHOOK_EXAMPLE: dict[str, Any] = {
    "url": "https://ioc.thainguyen.gov.vn/hooks/chiso766",
    "units": ["000.00.19.H60"],
    "kinds": ["dossier_overdue", "score_drop"],
    "min_level": "warning",
}


class WebhookIn(_Schema):
    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_extra={"examples": [WEBHOOK_EXAMPLE]}
    )

    url: HttpUrl = Field(description="Where the alerts are POSTed (http or https).")
    units: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default=[], max_length=1000, description="Only these units' alerts (none: all)."
    )
    kinds: list[AlertKind] = Field(default=[], description="Only these kinds (none: all).")
    min_level: Level = Field(default=Level.INFO, description="Only alerts this severe or more.")

    @field_validator("url")
    @classmethod
    def _short_url(cls, url: HttpUrl) -> HttpUrl:
        if len(str(url)) > 2048:
            raise ValueError("the url is longer than 2048 characters")
        return url


class WebhookOut(_Schema):
    webhook_id: str
    url: str
    units: list[str]
    kinds: list[str]
    min_level: str
    created_at: datetime
    pending: int = Field(description="Deliveries waiting for an attempt or a retry.")
    failed: int = Field(description="Deliveries given up after the last attempt.")


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret, shown this once: verify `X-C766-Signature` with it."
    )


class DeliveryAttempt(_Schema):
    attempt: int
    at: datetime
    status_code: int | None = None
    error: str | None = None
    ms: float


class DeliveryOut(_Schema):
    delivery_id: int
    alert_seq: int
    alert_id: str
    status: str = Field(examples=["pending", "delivered", "failed", "cancelled"])
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    log: list[DeliveryAttempt]


class DeliveryPage(_Schema):
    items: list[DeliveryOut]
    next_before: int | None


class Retried(_Schema):
    requeued: int


class HistoryIndicator(_Schema):
    id: str = Field(examples=["2.1"])
    numerator: int = Field(examples=[9649])
    denominator: int = Field(examples=[10000])
    rate: float | None = Field(examples=[96.49])
    points: float = Field(examples=[19.3])


class HistoryDayOut(_Schema):
    """A unit's score in the period running on a day, as it stood at the end of that day."""

    day: date = Field(examples=["2025-09-22"])
    period: str = Field(description="The period running that day.", examples=["2025-Q3"])
    total: float = Field(examples=[88.5])
    rank: int | None = Field(description="Among the units of its level; null for the province.")
    groups: dict[str, float] = Field(
        examples=[
            {"CKMB": 15.77, "TDGQ": 19.3, "CLGQ": 8.31, "TTTT": 10, "MDHL": 17.86, "MDSH": 17.26}
        ]
    )
    restated_at: datetime | None = Field(
        description="When an event applied after the day closed, but that occurred before its "
        "end, last changed the day's counts (whatever the view)."
    )
    indicators: list[HistoryIndicator] | None = Field(
        default=None, description="With `indicators=true`."
    )


class UnitHistory(_Schema):
    unit: UnitOut
    period: str = Field(
        description="As asked: a kind (the period of that kind running each day) or a key.",
        examples=["quarter"],
    )
    view: str = Field(
        description="recorded: as each day's end showed it; restated: with the late events "
        "applied since.",
        examples=["recorded"],
    )
    methodology: str = Field(examples=["qd766-portal-2026"])
    days: list[HistoryDayOut]


class ComparedValue(_Schema):
    """A row's numbers at one date; null where the row has none (a group has no counts)."""

    numerator: int | None = Field(default=None, examples=[9649])
    denominator: int | None = Field(default=None, examples=[10000])
    rate: float | None = Field(default=None, examples=[96.49])
    points: float | None = Field(default=None, examples=[19.3])


class ComparedChange(_Schema):
    """The second date minus the first (the letter's "Tăng (+)/Giảm (-)")."""

    numerator: int | None = Field(default=None, examples=[-172])
    rate: float | None = Field(default=None, examples=[-1.72])
    points: float | None = Field(default=None, examples=[-0.05])


class ComparisonRow(_Schema):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    stt: str | None = Field(
        description="The letter's numbering (I, 1, 7.1); null for a row it does not have.",
        examples=["5"],
    )
    kind: str = Field(description="section, group, indicator or complement.", examples=["group"])
    code: str = Field(description="A group's code or an indicator's id.", examples=["2.1"])
    label: str = Field(examples=["Tỷ lệ hồ sơ xử lý đúng hạn"])
    max_points: float | None = Field(examples=[20])
    from_: ComparedValue = Field(alias="from")
    to: ComparedValue
    change: ComparedChange


class ComparedStanding(_Schema):
    total: float = Field(examples=[88.51])
    rank: int | None = Field(description="Among the units of its level; null for the province.")


class ComparedUnit(_Schema):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    unit: UnitOut
    from_: ComparedStanding = Field(alias="from")
    to: ComparedStanding
    total_change: float = Field(examples=[0.01])
    rank_change: int | None = Field(description="Places gained (negative: lost).", examples=[0])
    rows: list[ComparisonRow]


class ComparedDay(_Schema):
    day: date = Field(examples=["2025-09-22"])
    period: str = Field(description="The period compared on that day.", examples=["2025"])
    restated_at: datetime | None


class Comparison(_Schema):
    """Phụ lục I: every unit's groups and indicators on two dates, and the change."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    title: str = Field(examples=["SỐ LIỆU BỘ CHỈ SỐ … TỪ NGÀY 22/09/2025 ĐẾN NGÀY 29/09/2025"])
    view: str = Field(examples=["recorded"])
    methodology: str = Field(examples=["qd766-portal-2026"])
    from_: ComparedDay = Field(alias="from")
    to: ComparedDay
    units: list[ComparedUnit] = Field(
        description="The province first, then the departments and the communes, by code."
    )


class OverdueReportItem(_Schema):
    unit: UnitOut
    overdue: int = Field(
        description="Its overdue dossiers processed in the window: what the link lists.",
        examples=[49],
    )
    dossiers: str = Field(
        description="The overdue list of the unit for the window: exactly these dossiers.",
        examples=["/units/so-tai-chinh/overdue?period=2025-09-22..2025-09-29"],
    )


class OverdueReport(_Schema):
    """The seed letter's Phụ lục II: the units with overdue dossiers processed in a window of
    days (finished late in it, or still in progress past their due date), departments first,
    then communes, each level in the province's order of units."""

    period: PeriodOut = Field(description="The window, as a range of days.")
    level: str | None = Field(
        description="department or commune; null for both.", examples=["department"]
    )
    as_of: datetime | None = Field(description="The instant the outcomes are evaluated at.")
    total: int = Field(description="Overdue dossiers of all the listed units.", examples=[73])
    items: list[OverdueReportItem]


# -- guidance: what a unit must fix, and what it is worth ----------------------------------------


class FixOut(_Schema):
    """One kind of thing behind an indicator's loss, and the points fixing it is worth."""

    kind: str = Field(examples=["not_synced"])
    description: str = Field(examples=["dossiers not synced to the national portal"])
    count: int = Field(description="How many dossiers, procedures or communes.", examples=[12])
    can_change: bool = Field(
        description="False for what is settled in the period (a dossier finished late): the "
        "gains are then what it cost."
    )
    unit_gain: float = Field(
        description="Points the unit gains if it is fixed, every other count as it stands; for "
        "due_soon, the points it keeps (lost if they go late).",
        examples=[0.36],
    )
    province_gain: float = Field(
        description="The same for the province, whose counts pool the units'.", examples=[0.01]
    )
    may_also_change: list[str] = Field(
        description="Indicators the same act may change too, by facts the counts do not hold "
        "(an electronic result given to an online dossier also counts in 3.3; a new dossier "
        "counts everywhere): not in the gains.",
        examples=[["3.3", "4.2"]],
    )
    items: str | None = Field(
        description="Where they are listed.",
        examples=["/units/so-tu-phap/indicators/1.4/dossiers?period=2026-11&part=shortfall"],
    )


class IndicatorGuidanceOut(_Schema):
    id: str = Field(examples=["1.4"])
    group: str = Field(examples=["CKMB"])
    title: str = Field(examples=["Tỷ lệ hồ sơ đồng bộ lên Cổng DVCQG"])
    numerator: int = Field(examples=[188])
    denominator: int = Field(examples=[200])
    points: float = Field(examples=[5.64])
    max_points: float = Field(examples=[6])
    at_stake: float = Field(description="max_points - points.", examples=[0.36])
    fixes: list[FixOut]


class ScenarioIndicator(_Schema):
    id: str = Field(examples=["2.1"])
    numerator: int = Field(examples=[180])
    denominator: int = Field(examples=[200])
    points: float = Field(examples=[18])


class ScenarioOut(_Schema):
    description: str
    unit_total: float = Field(examples=[91.2])
    province_total: float = Field(
        description="With only this unit's dossiers moved.", examples=[88.6]
    )
    indicators: list[ScenarioIndicator] = Field(
        description="The unit's on-time indicators (2.1, 5.4), and any other this assumption "
        "changes, at the period's end."
    )


class ForecastOut(_Schema):
    period_end: datetime
    in_progress: int = Field(description="The unit's dossiers in progress.", examples=[40])
    on_time: ScenarioOut
    stalled: ScenarioOut


class Guidance(_Schema):
    """A unit's indicators ordered by points at stake, each with what is behind the loss and
    what fixing it is worth (for the unit and the province), and the period's end forecast."""

    unit: UnitOut
    period: PeriodOut
    methodology: str = Field(examples=["qd766-portal-2026"])
    as_of: datetime | None = Field(description="The instant the counts are evaluated at.")
    total: float = Field(examples=[88.51])
    province_total: float = Field(examples=[88.51])
    within_hours: float = Field(
        description="How many working hours ahead due_soon looks.", examples=[8]
    )
    indicators: list[IndicatorGuidanceOut]
    forecast: ForecastOut


class DueSoonItem(_Schema):
    dossier_code: str = Field(examples=["H19.01-251001-0042"])
    procedure_code: str | None = Field(examples=["1.004227"])
    status: str | None = Field(examples=["IN_PROGRESS"])
    received_at: datetime | None
    due_at: datetime | None
    effective_due_at: datetime = Field(
        description="The due time on the processing clock (later by answered supplements)."
    )
    working_hours_left: float = Field(examples=[5.5])


class DueSoonPage(_Schema):
    """In progress within the deadline, due within the working hours asked: soonest first."""

    unit: UnitOut
    within_hours: float = Field(examples=[8])
    due_by: datetime = Field(description="Due by this instant: at most within_hours ahead.")
    items: list[DueSoonItem]
    next_after: str | None = Field(
        description="Pass as `after` for the next page; null on the last.",
        examples=["2026-11-20T09:30:00+00:00|H19.01-251001-0042"],
    )
