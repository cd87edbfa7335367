"""Whatever bytes arrive, parsing never raises: it accepts events or refuses with a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import normalized_payload, parse_events, stored_json
from tests.corpus.national import envelope, step
from tests.shared.test_events import VALID
from tests.shared.test_national_sync import ITEM

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
        result = parse_events(raw, topic=topic, now=NOW, arrived_at=NOW)  # type: ignore[arg-type]
        # Nothing vanishes: a record gives events, refusals, or both.
        assert result.accepted or result.refused
        for refusal in result.refused:
            assert refusal.reason.strip()
            assert "\x00" not in refusal.reason
        for accepted in result.accepted:
            assert accepted.payload == normalized_payload(accepted.event)
            # What is stored is the payload itself, written once.
            assert orjson.loads(accepted.document) == accepted.payload
            assert accepted.document == stored_json(accepted.payload)


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


@settings(max_examples=300)
@given(
    items=st.lists(
        st.dictionaries(st.sampled_from(sorted(ITEM)), json_values, max_size=3).map(
            lambda changes: {**ITEM, **changes}
        )
        | json_values,
        max_size=4,
    ),
    service=st.sampled_from(["DongBoHoSoMC", "CapNhatTienDoHoSoMC", "TraCuuHoSo"]) | json_values,
)
def test_envelopes_of_hostile_items(items: list[Any], service: Any) -> None:
    check(json.dumps({**envelope("DongBoHoSoMC", *items), "service": service}).encode())


@settings(max_examples=200)
@given(changes=st.dictionaries(st.sampled_from(sorted(step("X", "", ""))), json_values, max_size=4))
def test_hostile_processing_steps(changes: dict[str, Any]) -> None:
    value = {**step("000.00.19.H01-261116-0001", "20261116100000", "4"), **changes}
    check(json.dumps(envelope("CapNhatTienDoHoSoMC", value)).encode())
