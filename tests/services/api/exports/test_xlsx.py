"""The XLSX writer, read back with openpyxl: the official layout, numbers as numbers, text as
text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.api.exports.table import Column, Table, alone
from services.api.exports.xlsx import sheet_name, write_xlsx
from tests.services.api.exports.sample import END, FIRST_DATA_ROW, FORMULA, sheet, table

BASE = "http://api.example"


def test_the_layout_is_the_offices() -> None:
    ws = sheet(write_xlsx(table(), BASE, END))
    assert ws["A1"].value == "SỐ HỒ SƠ QUÁ HẠN"
    assert ws["A2"].value == "Từ ngày 22/09/2025 đến ngày 29/09/2025"
    assert ws["A3"].value == "Số liệu tính đến 10:00 ngày 29/09/2025"
    # Two levels: a lone column spans both header rows, a group's label stands over its own.
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:F1", "A2:F2", "A5:A6", "B5:B6", "C5:F5"} <= merged
    assert [ws.cell(5, c).value for c in (1, 2, 3)] == ["Hạng", "Đơn vị", "Điểm"]
    assert [ws.cell(6, c).value for c in (3, 4, 5, 6)] == [
        "Điểm",
        "Tỷ lệ (%)",
        "Tăng/giảm",
        "Danh sách",
    ]
    # Headers and the identity columns frozen; the filter over the last header row and the data.
    assert ws.freeze_panes == f"C{FIRST_DATA_ROW}"
    assert ws.auto_filter.ref == f"A6:F{FIRST_DATA_ROW + 2}"
    assert ws.print_title_rows == "$5:$6"


def test_numbers_are_numbers_with_a_display_format() -> None:
    ws = sheet(write_xlsx(table(), BASE, END))
    first = [ws.cell(FIRST_DATA_ROW, c) for c in range(1, 6)]
    assert [c.value for c in first] == [1, "Sở Tài chính", 19.3, 96.49 / 100, 0.05]
    assert [c.data_type for c in first] == ["n", "s", "n", "n", "n"]
    assert [c.number_format for c in (first[0], first[2], first[3], first[4])] == [
        "#,##0",
        "#,##0.00",
        "0.00%",
        "+#,##0.00;-#,##0.00;0.00",
    ]
    second = [ws.cell(FIRST_DATA_ROW + 1, c) for c in range(1, 6)]
    # Missing is blank, never 0; a cell of its own kind (days among rates) has its own format.
    assert second[2].value is None
    assert (second[3].value, second[3].number_format) == (3.5, "#,##0.00")
    assert second[4].value == -1.25
    third = ws.cell(FIRST_DATA_ROW + 2, 3)
    assert (third.value, third.data_type) == (0, "n")


def test_formula_like_text_stays_text() -> None:
    ws = sheet(write_xlsx(table(), BASE, END))
    cell = ws.cell(FIRST_DATA_ROW + 1, 2)
    assert (cell.value, cell.data_type, cell.quotePrefix) == (FORMULA, "s", True)
    minus = ws.cell(FIRST_DATA_ROW + 2, 2)
    assert (minus.value, minus.data_type, minus.quotePrefix) == ("-1 đơn vị", "s", True)
    assert ws.cell(FIRST_DATA_ROW, 2).quotePrefix is False


def test_links_are_absolute_hyperlinks() -> None:
    ws = sheet(write_xlsx(table(), BASE + "/", END))
    link = ws.cell(FIRST_DATA_ROW, 6)
    assert link.value == "Xem danh sách"
    assert link.hyperlink.target == f"{BASE}/units/so-tai-chinh/overdue?period=x"


def test_the_same_table_gives_the_same_bytes() -> None:
    assert write_xlsx(table(), BASE, END) == write_xlsx(table(), BASE, END)


def test_sheet_names_keep_to_excels_rules() -> None:
    assert sheet_name("Xếp hạng [tuần]: 2026/W48?") == "Xếp hạng  tuần   2026 W48"
    assert len(sheet_name("x" * 40)) == 31
    assert sheet_name("///") == "Báo cáo"


# Control characters are kept too, as OOXML's _xHHHH_ escapes (which openpyxl does not decode).
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1))
def test_any_text_reads_back_as_itself(value: str) -> None:
    one = Table(
        title="T",
        period_line="P",
        groups=(alone(Column("v", "V")),),
        rows=((value,),),
        file_stem="t",
    )
    cell = sheet(write_xlsx(one, BASE, END)).cell(5, 1)
    assert (cell.value, cell.data_type) == (value, "s")
