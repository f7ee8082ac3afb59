#!/usr/bin/env python3
"""The application side of bench/compare: a SQLite writer in its own process.

Usage: writer.py DB init
       writer.py DB rows --count N [--rate R] [--seed S] [--counter] --summary FILE
                 N one-row transactions, paced at R per second on a fixed schedule (0: as fast
                 as possible); rows are 100..999 bytes of seeded random data; --counter also
                 updates a row of table c in each, so every transaction writes at least 2 pages
       writer.py DB blobs --mb M [--txn-mb T] [--seed S] --summary FILE
                 M MB in transactions of T MB each (default: one transaction), 256 KiB rows

Every row carries its commit wall time (column t, taken just before COMMIT). The summary file
(JSON) holds each transaction's last row id and the wall time at which COMMIT returned, and
the WAL bytes the writer wrote (wchar from /proc/self/io: with wal_autocheckpoint off, the
writer's only writes are WAL frames). The same seed gives every tool the same write history.

Connection settings, the same for every tool: journal_mode=WAL, synchronous=NORMAL,
busy_timeout=5000, wal_autocheckpoint=0 (the replicator owns checkpoints, as both Litestream's
and Sluice's documentation advise).
"""
import json
import random
import sqlite3
import sys
import time


def connect(path):
    db = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    return db


def option(args, name, default, kind):
    return kind(args[args.index(name) + 1]) if name in args else default


def written_bytes():
    with open("/proc/self/io") as source:
        for line in source:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def main():
    path, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    db = connect(path)
    if command == "init":
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, t REAL NOT NULL, data BLOB NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        db.execute("INSERT OR IGNORE INTO c VALUES (1, 0)")
        return 0
    rng = random.Random(option(args, "--seed", 1, int))
    ids, times = [], []
    before = written_bytes()
    started = time.time()
    if command == "rows":
        count = option(args, "--count", 10, int)
        rate = option(args, "--rate", 0.0, float)
        counter = "--counter" in args
        clock = time.monotonic()
        for i in range(count):
            if rate > 0:
                wait = clock + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            data = rng.randbytes(100 + (i * 37) % 900)
            db.execute("BEGIN IMMEDIATE")
            cursor = db.execute("INSERT INTO t (t, data) VALUES (?, ?)", (time.time(), data))
            if counter:
                db.execute("UPDATE c SET n = n + 1 WHERE id = 1")
            db.execute("COMMIT")
            times.append(time.time())
            ids.append(cursor.lastrowid)
    elif command == "blobs":
        remaining = int(option(args, "--mb", 1, float) * 1024 * 1024)
        per_txn = int(option(args, "--txn-mb", 0, float) * 1024 * 1024) or remaining
        while remaining > 0:
            in_txn = min(per_txn, remaining)
            db.execute("BEGIN IMMEDIATE")
            while in_txn > 0:
                size = min(in_txn, 256 * 1024)
                cursor = db.execute("INSERT INTO t (t, data) VALUES (?, ?)", (time.time(), rng.randbytes(size)))
                in_txn -= size
                remaining -= size
            db.execute("COMMIT")
            times.append(time.time())
            ids.append(cursor.lastrowid)
    else:
        print("writer: unknown command " + command, file=sys.stderr)
        return 2
    ended = time.time()
    wal_bytes = written_bytes() - before
    db.close()
    with open(option(args, "--summary", path + ".writer.json", str), "w") as out:
        json.dump({"started": started, "ended": ended, "ids": ids, "times": times, "wal_bytes": wal_bytes}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
