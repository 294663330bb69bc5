"""Create the quickstart's small shop database (deterministic): customers and orders."""

from __future__ import annotations

import random
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path

CUSTOMERS = 500
ORDERS = 5_000


def create(path: Path) -> None:
    rng = random.Random(42)
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE customers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT NOT NULL,
            country TEXT,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL
        );
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            amount DECIMAL(10, 2) NOT NULL,
            status TEXT NOT NULL,
            ordered_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL
        );
        """
    )
    start = datetime(2026, 1, 1)
    names = ["Ada", "Grace", "Linus", "Zoë", "Jürgen", "Amélie", "Kenji", "Olu", "Priya", "Sven"]
    countries = ["DE", "FR", "JP", "NG", "IN", "SE", "US", None]
    customers = []
    for i in range(1, CUSTOMERS + 1):
        created = start + timedelta(minutes=rng.randrange(0, 300_000))
        name = f"{rng.choice(names)} {i}"
        customers.append(
            (i, name, f"customer{i}@example.com", rng.choice(countries), created, created)
        )
    db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)", customers)
    orders = []
    for i in range(1, ORDERS + 1):
        ordered = start + timedelta(minutes=rng.randrange(0, 400_000))
        orders.append(
            (
                i,
                rng.randrange(1, CUSTOMERS + 1),
                f"{rng.uniform(3, 900):.2f}",
                rng.choice(["placed", "paid", "shipped", "delivered", "returned"]),
                ordered,
                ordered + timedelta(hours=rng.randrange(0, 72)),
            )
        )
    db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", orders)
    db.commit()
    db.execute("VACUUM")
    db.close()


if __name__ == "__main__":
    create(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("shop.db"))
