"""A file's name for browsers, its ETag and cache key, and the table's own checks."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from starlette.requests import Request

from services.api.exports.formats import Export, Format, ascii_name, disposition, write_file
from services.api.exports.table import Column, Table, alone
from tests.services.api.exports.sample import table


def test_a_vietnamese_file_name_is_encoded_with_an_ascii_fallback() -> None:
    header = disposition("Sở Tài chính-2026-W48-chỉ số.xlsx")
    assert header == (
        'attachment; filename="So-Tai-chinh-2026-W48-chi-so.xlsx"; '
        "filename*=UTF-8''S%E1%BB%9F%20T%C3%A0i%20ch%C3%ADnh-2026-W48-ch%E1%BB%89%20s%E1%BB%91.xlsx"
    )
    header.encode("latin-1")  # what an HTTP header may hold
    assert unquote(header.split("''")[1]) == "Sở Tài chính-2026-W48-chỉ số.xlsx"


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ('Đăng ký "khai" sinh; ĐỒNG.csv', "Dang-ky-khai-sinh-DONG.csv"),
        ("Hồ sơ quá hạn-2025-09-22_2025-09-29.xlsx", "Ho-so-qua-han-2025-09-22_2025-09-29.xlsx"),
        ("報告", "report"),
    ],
)
def test_the_fallback_name_is_plain_ascii(name: str, fallback: str) -> None:
    assert ascii_name(name) == fallback


def asked_at(host: str) -> Request:
    scope = {"type": "http", "scheme": "http", "server": (host, 80), "path": "/", "headers": []}
    return Request({**scope, "root_path": "", "query_string": b""})


def test_each_file_has_its_own_etag_and_cache_key() -> None:
    tag = 'W/"12.11.3.20261120.qd766-portal-2026.2026-W47.department"'
    json, xlsx, csv = (Export.of(asked_at("api"), f) for f in Format)
    assert json.tag(tag) == tag
    assert xlsx.tag(tag) == 'W/"12.11.3.20261120.qd766-portal-2026.2026-W47.department.xlsx"'
    assert csv.tag(tag).endswith('.csv"')
    assert json.cache_key(tag) == tag
    # A workbook's links carry the address it was asked at.
    elsewhere = Export.of(asked_at("other"), Format.XLSX)
    assert xlsx.cache_key(xlsx.tag(tag)) != elsewhere.cache_key(xlsx.tag(tag))
    assert xlsx.base_url == "http://api/"
    assert json.renderer(lambda model: table()) is None


def test_a_file_carries_its_type_and_name() -> None:
    xlsx = write_file(table(), Format.XLSX, "http://api")
    assert xlsx.media_type.startswith("application/vnd.openxmlformats")
    assert xlsx.gzipped is None  # a zip already
    csv = write_file(table(), Format.CSV, "http://api")
    assert csv.media_type == "text/csv; charset=utf-8; header=present"
    assert dict(csv.headers)["Content-Disposition"].startswith(
        'attachment; filename="Ho-so-qua-han-2025-09-22_2025-09-29.csv"'
    )


def test_a_table_refuses_a_description_that_does_not_add_up() -> None:
    column = Column("a", "A")
    with pytest.raises(ValueError, match="not unique"):
        Table("t", "p", (alone(column), alone(column)), (), "t")
    with pytest.raises(ValueError, match="a row of 2 values for 1 columns"):
        Table("t", "p", (alone(column),), (("x", "y"),), "t")
    with pytest.raises(ValueError, match="3 frozen columns of 1"):
        Table("t", "p", (alone(column),), (), "t", frozen_columns=3)
