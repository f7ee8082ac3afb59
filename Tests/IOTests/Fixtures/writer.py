#!/usr/bin/env python3
"""A SQLite writer in its own process, for sluice's end-to-end tests and benchmark.

Usage: writer.py DB COMMAND [options]
  init                          create the table (WAL mode)
  small --count N [--delay S | --rate R] [--batch NAME] [--checkpoint-after K]
                                N one-row transactions, S seconds apart (or paced at R per
                                second on a fixed schedule); optionally run
                                PRAGMA wal_checkpoint(TRUNCATE) after the K-th one
  big --mb M [--batch NAME]     one transaction inserting M MB of random blobs
  checkpoint                    PRAGMA wal_checkpoint(TRUNCATE); prints busy,log,checkpointed
  count                         prints the row count
  dump                          prints one line per row: id|batch|length|stored sha256|actual sha256
  integrity                     prints PRAGMA integrity_check

Every row stores the sha256 of its data, so a dump of a restored copy proves the bytes survived.
The connection waits up to 30 s for a lock (busy_timeout). An application beside sluice would
use a few seconds; the tests run many replicators and writers at once on a loaded machine, where
a replicator's start-up or a checkpoint of a big transaction can hold the write lock longer, and
how long it holds it is a figure for the benchmarks, not a timed assertion in every test.
"""
import hashlib
import os
import sqlite3
import sys
import time


def connect(path):
    db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    db.execute("PRAGMA busy_timeout=30000")
    return db


def insert(db, batch, data):
    db.execute("INSERT INTO t (batch, data, digest) VALUES (?, ?, ?)",
               (batch, data, hashlib.sha256(data).hexdigest()))


def option(args, name, default=None, kind=str):
    if name in args:
        return kind(args[args.index(name) + 1])
    return default


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    db = connect(path)
    if command == "init":
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, batch TEXT, data BLOB, digest TEXT)")
    elif command == "small":
        count = option(args, "--count", 10, int)
        delay = option(args, "--delay", 0.0, float)
        batch = option(args, "--batch", "small")
        checkpoint_after = option(args, "--checkpoint-after", -1, int)
        rate = option(args, "--rate", 0.0, float)
        start = time.monotonic()
        for i in range(count):
            if rate > 0:
                # Commit i is due at start + i/rate; late commits catch up without sleeping.
                wait = start + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            db.execute("BEGIN IMMEDIATE")
            insert(db, batch, os.urandom(100 + (i * 37) % 900))
            db.execute("COMMIT")
            if i + 1 == checkpoint_after:
                row = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                print("checkpoint %d,%d,%d" % row, file=sys.stderr)
            if delay > 0:
                time.sleep(delay)
    elif command == "big":
        megabytes = option(args, "--mb", 64, float)
        batch = option(args, "--batch", "big")
        remaining = int(megabytes * 1024 * 1024)
        db.execute("BEGIN IMMEDIATE")
        while remaining > 0:
            size = min(remaining, 256 * 1024)
            insert(db, batch, os.urandom(size))
            remaining -= size
        db.execute("COMMIT")
    elif command == "checkpoint":
        print("%d,%d,%d" % db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
    elif command == "count":
        print(db.execute("SELECT count(*) FROM t").fetchone()[0])
    elif command == "dump":
        for row_id, batch, data, digest in db.execute("SELECT id, batch, data, digest FROM t ORDER BY id"):
            print("%d|%s|%d|%s|%s" % (row_id, batch, len(data), digest, hashlib.sha256(data).hexdigest()))
    elif command == "integrity":
        print(db.execute("PRAGMA integrity_check").fetchone()[0])
    else:
        print("unknown command: " + command, file=sys.stderr)
        return 2
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
