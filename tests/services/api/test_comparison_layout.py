"""The comparison's layout: the letter's rows, and nothing of the methodology left out."""

from __future__ import annotations

from services.api.comparison import LETTER, layout
from shared.methodology import load_methodology


def test_every_indicator_and_group_of_the_methodology_has_one_row() -> None:
    methodology = load_methodology()
    lines = layout(methodology)
    shown = [line.refs[0] for line in lines if line.kind == "indicator"]
    assert sorted(shown) == sorted(i.id for i in methodology.indicators)
    groups = [line.refs[0] for line in lines if line.kind == "group"]
    assert sorted(groups) == sorted(g.code for g in methodology.groups)


def test_a_methodology_without_an_indicator_of_the_letter_loses_only_that_row() -> None:
    methodology = load_methodology()
    trimmed = methodology.model_copy(
        update={"indicators": [i for i in methodology.indicators if i.id != "4.6"]}
    )
    lines = layout(trimmed)
    assert [line.stt for line in lines if line.stt] == [
        line.stt for line in LETTER if line.refs != ("4.6",)
    ]
