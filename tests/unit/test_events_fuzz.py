"""Whatever bytes arrive, parsing never raises: it accepts events or refuses with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import Refusal, normalized_payload, parse_events
from tests.unit.test_events import VALID
from tests.unit.test_national_sync import ITEM

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def check(raw: bytes) -> None:
    for topic in ("dossier", "catalog", "feedback"):
        result = parse_events(raw, topic=topic, now=NOW)  # type: ignore[arg-type]
        if isinstance(result, Refusal):
            assert result.reason.strip()
        else:
            assert result
            for event in result:
                orjson.dumps(normalized_payload(event))  # storable


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_arbitrary_bytes(raw: bytes) -> None:
    check(raw)


@settings(max_examples=300)
@given(json_values)
def test_arbitrary_json(value: Any) -> None:
    # The standard library writes what orjson would refuse (integers past 64 bits).
    check(json.dumps(value).encode())


@settings(max_examples=500)
@given(
    base=st.sampled_from([VALID, ITEM]),
    changes=st.dictionaries(
        st.sampled_from(sorted({*VALID, *ITEM})), json_values, min_size=1, max_size=4
    ),
    dropped=st.sets(st.sampled_from(sorted({*VALID, *ITEM})), max_size=3),
)
def test_valid_events_with_fields_changed_or_dropped(
    base: dict[str, Any], changes: dict[str, Any], dropped: set[str]
) -> None:
    document = {k: v for k, v in {**base, **changes}.items() if k not in dropped}
    check(json.dumps(document).encode())


national_lists = st.lists(
    st.dictionaries(
        st.sampled_from(
            ["Gia", "DuongDanTepTinKetQua", "DuongDanTaiTepTin", "NgayBoSung", "NgayTiepNhanBoSung"]
        ),
        json_values,
        max_size=3,
    )
    | json_values,
    max_size=3,
)


@settings(max_examples=500)
@given(
    lists=st.dictionaries(
        st.sampled_from(
            ["DanhSachLePhi", "DanhSachGiayToKetQua", "TaiLieuNop", "DanhSachHoSoBoSung"]
        ),
        national_lists,
        min_size=1,
    )
)
def test_national_items_with_hostile_lists(lists: dict[str, Any]) -> None:
    check(json.dumps({**ITEM, **lists}).encode())
