"""The project's errors: what went wrong, said once, mapped to HTTP in one place.

    Chiso766Error
    ├── ClientError                    the request asks for something wrong: a 4xx
    │   ├── InvalidInput         422   a parameter or a body that cannot be read
    │   │   ├── PeriodError            not a period ("2026-W60", a range of 400 days)
    │   │   ├── UnknownMethodology     no such methodology version
    │   │   └── WrongSource            an indicator counted from other data than asked
    │   ├── NotFound             404   no such unit, indicator, subscription, dead letter
    │   ├── Unauthenticated      401   no valid API key
    │   ├── Forbidden            403   a key without the scope
    │   └── TargetRefused        422   a webhook URL that points inside the network
    ├── Unavailable              503   PostgreSQL or the broker is away: try again
    │   ├── DatabaseUnavailable
    │   └── BrokerUnavailable
    └── Misconfigured                  a setting contradicts what is on record: stop, fix it

Anything else is a bug: the api answers 500 and logs its traceback; a loop crashes (its
supervisor restarts it) rather than retrying forever. `is_retryable()` is the one answer to
"is this an outage to wait out?", for every loop and for the api's 503.
"""

from __future__ import annotations

import errno
import socket
from typing import ClassVar

import asyncpg
from aiokafka.errors import KafkaError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class Chiso766Error(Exception):
    """Every error the project raises on purpose."""

    status: ClassVar[int] = 500

    def __init__(self, detail: object) -> None:
        super().__init__(str(detail))
        # A message, or a structure (a list of refused items) for the client.
        self.detail = detail


class ClientError(Chiso766Error):
    status = 400


class InvalidInput(ClientError):
    status = 422


class PeriodError(InvalidInput):
    """A period key or name that does not denote a period."""


class UnknownMethodology(InvalidInput):
    pass


class WrongSource(InvalidInput):
    pass


class NotFound(ClientError):
    status = 404


class Unauthenticated(ClientError):
    status = 401


class Forbidden(ClientError):
    status = 403


class Misconfigured(Chiso766Error):
    """Not an outage and not a bug: waiting will not help, a person must change a setting."""


class TargetRefused(ClientError):
    """A webhook URL resolving to a loopback, private, link-local or metadata address."""

    status = 422


class Unavailable(Chiso766Error):
    status = 503


class DatabaseUnavailable(Unavailable):
    pass


class BrokerUnavailable(Unavailable):
    """The broker did not take the records in time."""


# PostgreSQL's classes of errors worth waiting out: 08 connection, 57 operator intervention
# (shutdown, too many connections), and two transaction outcomes a retry resolves.
_RETRYABLE_SQLSTATE_CLASSES = ("08", "57")
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
_NETWORK_ERRNOS = frozenset(
    {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.ETIMEDOUT}
)
# Text PostgreSQL cannot hold (a NUL character): bad input, never a retry.
_UNSTORABLE_SQLSTATES = frozenset({"22021", "22P05"})


def is_retryable(error: BaseException) -> bool:
    """An outage (PostgreSQL or the broker away, a deadlock broken) rather than a bug."""
    if isinstance(error, Unavailable | KafkaError | PoolTimeout | TimeoutError):
        return True
    # The drivers surface a refused or dropped connection as these; any other OSError (a file,
    # a permission) is a bug.
    if isinstance(error, ConnectionError | socket.gaierror):
        return True
    if isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS:
        return True
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        return _retryable_sqlstate(sqlstate(error))
    # Raised as the driver raises them where its connection is used directly (the claims' and
    # the listeners' own connections, the bulk statements): a connection dropped in the middle
    # of a statement is `ConnectionDoesNotExistError`, SQLSTATE 08003.
    if isinstance(error, asyncpg.PostgresError):
        return _retryable_sqlstate(str(error.sqlstate or ""))
    return False


def _retryable_sqlstate(code: str) -> bool:
    return code in _RETRYABLE_SQLSTATES or code[:2] in _RETRYABLE_SQLSTATE_CLASSES


def is_unstorable_text(error: BaseException) -> bool:
    """PostgreSQL refused a string it cannot hold: the input's fault."""
    return isinstance(error, DBAPIError) and sqlstate(error) in _UNSTORABLE_SQLSTATES


def sqlstate(error: DBAPIError) -> str:
    return str(getattr(error.orig, "sqlstate", None) or "")
