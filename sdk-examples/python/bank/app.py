"""`bank` in Python: the same routines as the Rust `sdk-examples/bank`.

`transfer(src, dst, amount)` moves money between rows of
`accounts(id bigint primary key, balance bigint not null)`, reading before it
writes so that a refused transfer changes nothing; `statement(id)` returns the
account's rows; `interest(balance, rate_bp)` is a scalar function evaluated
over batches. Build with `componentize-py -d ../../../wit -w extension
componentize app -o bank.wasm` (see the README).
"""

from typing import List

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host
from wit_world.imports.types import (
    Column,
    DataType,
    RoutineDescription,
    RoutineKind,
    Rows,
    SqlError,
    Value,
    Value_Int8,
    Value_Null,
    Volatility,
)

INT8_MIN = -(2**63)
INT8_MAX = 2**63 - 1


def fail(sqlstate: str, message: str, detail: str | None = None) -> Err:
    return Err(SqlError(sqlstate=sqlstate, message=message, detail=detail))


def bigint(value: Value, what: str) -> int:
    if isinstance(value, Value_Int8):
        return value.value
    raise fail("22023", f"{what} must be a non-null bigint")


def int8_columns(*names: str) -> List[Column]:
    return [Column(name=n, data_type=DataType.INT8) for n in names]


def transfer(src: int, dst: int, amount: int) -> Rows:
    if amount <= 0:
        raise fail("22023", "amount must be positive")
    with host.query("SELECT balance FROM accounts WHERE id = $1", [Value_Int8(src)]) as cursor:
        batch = cursor.next_batch(1)
    if not batch:
        raise fail("P0002", f"account {src} does not exist")
    balance = bigint(batch[0][0], "balance")
    if balance < amount:
        raise fail(
            "P0001",
            "insufficient funds",
            f"account {src} has {balance}, the transfer needs {amount}",
        )
    host.execute(
        "UPDATE accounts SET balance = balance - $1 WHERE id = $2",
        [Value_Int8(amount), Value_Int8(src)],
    )
    credited = host.execute(
        "UPDATE accounts SET balance = balance + $1 WHERE id = $2",
        [Value_Int8(amount), Value_Int8(dst)],
    )
    if credited == 0:
        # The caller's transaction rolls back the debit with this error.
        raise fail("P0002", f"account {dst} does not exist")
    return Rows(columns=[], rows=[])


def statement(account: int) -> Rows:
    rows: List[List[Value]] = []
    with host.query(
        "SELECT id, balance FROM accounts WHERE id = $1", [Value_Int8(account)]
    ) as cursor:
        while (batch := cursor.next_batch(256)) is not None:
            rows.extend(batch)
    return Rows(columns=int8_columns("id", "balance"), rows=rows)


def interest(balance: int, rate_bp: int) -> Value:
    product = balance * rate_bp
    if not INT8_MIN <= product <= INT8_MAX:
        raise fail("22003", "bigint out of range")
    # Rust's `/` truncates towards zero; Python's `//` floors.
    quotient = abs(product) // 10_000
    return Value_Int8(quotient if product >= 0 else -quotient)


PROCEDURES = {
    "transfer": (transfer, 3),
    "statement": (statement, 1),
}


def no_such_routine(name: str) -> Err:
    return fail("42883", f"module bank has no routine {name}")


class Describe(exports.Describe):
    def routines(self) -> List[RoutineDescription]:
        return [
            RoutineDescription(
                name="transfer",
                kind=RoutineKind.PROCEDURE,
                params=int8_columns("src", "dst", "amount"),
                returns=[],
                volatility=Volatility.VOLATILE,
                strict=False,
            ),
            RoutineDescription(
                name="statement",
                kind=RoutineKind.PROCEDURE,
                params=int8_columns("id"),
                returns=int8_columns("id", "balance"),
                volatility=Volatility.VOLATILE,
                strict=False,
            ),
            RoutineDescription(
                name="interest",
                kind=RoutineKind.SCALAR,
                params=int8_columns("balance", "rate_bp"),
                returns=int8_columns("interest"),
                volatility=Volatility.IMMUTABLE,
                strict=True,
            ),
        ]


class Procedure(exports.Procedure):
    def call_procedure(self, name: str, args: List[Value]) -> Rows:
        if name not in PROCEDURES:
            raise no_such_routine(name)
        function, arity = PROCEDURES[name]
        if len(args) != arity:
            raise fail("42883", f"{name} takes {arity} arguments, got {len(args)}")
        return function(*(bigint(a, "argument") for a in args))


class Scalar(exports.Scalar):
    def call_scalar(self, name: str, args: List[List[Value]]) -> List[Value]:
        if name != "interest":
            raise no_such_routine(name)
        out: List[Value] = []
        for row in args:
            if len(row) != 2:
                raise fail("39000", f"interest takes 2 arguments, got {len(row)}")
            if any(isinstance(v, Value_Null) for v in row):
                out.append(Value_Null())
            else:
                out.append(interest(bigint(row[0], "balance"), bigint(row[1], "rate_bp")))
        return out


class Aggregate(exports.Aggregate):
    def init(self, name: str) -> bytes:
        raise no_such_routine(name)

    def accumulate(self, name: str, state: bytes, args: List[List[Value]]) -> bytes:
        raise no_such_routine(name)

    def merge(self, name: str, left: bytes, right: bytes) -> bytes:
        raise no_such_routine(name)

    def finish(self, name: str, state: bytes) -> Value:
        raise no_such_routine(name)


class TableFunction(exports.TableFunction):
    def call_table(self, name: str, args: List[Value]) -> List[List[Value]]:
        raise no_such_routine(name)


class Trigger(exports.Trigger):
    def call_trigger(self, name: str, data: exports.trigger.TriggerData) -> exports.trigger.TriggerResult:
        raise no_such_routine(name)


class Model(exports.Model):
    def load(self, name: str, params: bytes) -> None:
        raise no_such_routine(name)

    def score(self, name: str, batch: List[List[Value]]) -> List[Value]:
        raise no_such_routine(name)
