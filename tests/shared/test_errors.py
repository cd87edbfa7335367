"""One answer to "is this an outage to wait out?", and the HTTP status of each error."""

from __future__ import annotations

import errno
import socket

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError
from sqlalchemy.exc import DBAPIError

from shared import errors


class _Driver(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def database_error(sqlstate: str, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, _Driver(sqlstate), connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        errors.DatabaseUnavailable("down"),
        errors.BrokerUnavailable("no ack"),
        KafkaConnectionError(),
        TimeoutError(),
        ConnectionRefusedError(),
        ConnectionResetError(),
        socket.gaierror(),
        OSError(errno.EHOSTUNREACH, "No route to host"),
        database_error("08006"),  # connection failure
        database_error("57P01"),  # admin shutdown
        database_error("40P01"),  # deadlock
        database_error("40001"),  # serialization failure
        database_error("XX000", invalidated=True),
        # The driver's own, where its connection is used directly: dropped mid-statement.
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.DeadlockDetectedError("deadlock detected"),
    ],
)
def test_outages_are_retried(error: BaseException) -> None:
    assert errors.is_retryable(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        KeyError("a bug"),
        OSError(errno.ENOENT, "No such file"),  # not every OSError is the network
        PermissionError(),
        database_error("42P01"),  # undefined table: a bug
        database_error("23505"),  # unique violation: a bug
        database_error("22021"),  # NUL in text: bad input
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.UndefinedTableError("relation does not exist"),
        errors.InvalidInput("bad"),
        errors.NotFound("none"),
    ],
)
def test_bugs_and_bad_input_are_not(error: BaseException) -> None:
    assert not errors.is_retryable(error)


def test_text_postgresql_cannot_hold_is_bad_input() -> None:
    assert errors.is_unstorable_text(database_error("22021"))
    assert errors.is_unstorable_text(database_error("22P05"))
    assert not errors.is_unstorable_text(database_error("08006"))
    assert not errors.is_unstorable_text(ValueError())


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.PeriodError("x"), 422),
        (errors.UnknownMethodology("x"), 422),
        (errors.WrongSource("x"), 422),
        (errors.TargetRefused("x"), 422),
        (errors.NotFound("x"), 404),
        (errors.Unauthenticated("x"), 401),
        (errors.Forbidden("x"), 403),
        (errors.DatabaseUnavailable("x"), 503),
        (errors.BrokerUnavailable("x"), 503),
    ],
)
def test_each_error_has_its_status(error: errors.Chiso766Error, status: int) -> None:
    assert error.status == status
    assert isinstance(error, errors.Chiso766Error)


def test_an_error_may_carry_a_structure_for_the_client() -> None:
    detail = {"message": "no event was sent", "errors": [{"index": 0, "reason": "x"}]}
    assert errors.InvalidInput(detail).detail == detail
