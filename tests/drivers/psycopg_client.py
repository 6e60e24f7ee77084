"""psycopg 3, unmodified, against `rustydb serve` (run by tests/server_drivers.rs).

Prints one line per check; the Rust test compares the whole output.
Usage: python3 psycopg_client.py PORT
"""

import decimal
import sys

import psycopg

port = int(sys.argv[1])
with psycopg.connect(host="127.0.0.1", port=port, user="rustydb", dbname="rustydb") as conn:
    print("server_version", conn.info.parameter_status("server_version"))
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2), ok boolean)"
        )
        # Server-side parameters ($1 ...) through the extended protocol.
        cur.executemany(
            "INSERT INTO items VALUES (%s, %s, %s, %s)",
            [(1, "apple", decimal.Decimal("1.50"), True), (2, "pear", None, False)],
        )
        conn.commit()
        cur.execute("SELECT id, name, price, ok FROM items WHERE id >= %s ORDER BY id", (1,))
        for row in cur.fetchall():
            print("row", row)
        # Binary results.
        with conn.cursor(binary=True) as bcur:
            bcur.execute("SELECT id, name FROM items WHERE name = %s", ("pear",))
            print("binary", bcur.fetchone())
        # A failed statement rolls the transaction back; the error carries its SQLSTATE.
        try:
            cur.execute("INSERT INTO items VALUES (%s, %s, NULL, NULL)", (1, "dup"))
        except psycopg.errors.UniqueViolation as e:
            print("error", e.sqlstate)
        conn.rollback()
        cur.execute("SELECT count(*) FROM items")
        print("count", cur.fetchone()[0])
        # Explicitly prepared statement, reused.
        for i in (3, 4):
            cur.execute("INSERT INTO items VALUES (%s, %s, %s, %s)", (i, f"n{i}", i, True), prepare=True)
        conn.commit()
        cur.execute("SELECT sum(price) FROM items")
        print("sum", cur.fetchone()[0])
        print("status", conn.info.transaction_status.name)
        conn.commit()
    print("status", conn.info.transaction_status.name)
