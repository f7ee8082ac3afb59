#!/usr/bin/env python3
"""The primary's writer and the read replica's readers for sluice's follow tests.

Usage: follow_workload.py DB COMMAND [options]
  writer --stop FILE            commit transfers between accounts (the balances always sum to
                                ACCOUNTS * 1000) and one tick row each (seq 1, 2, ... with its
                                commit time), until FILE exists; every 50th tick carries a 200 KB
                                blob so transactions span many pages. Prints the last seq.
  checkpoint                    PRAGMA wal_checkpoint(TRUNCATE) from a connection of its own
  reader --stop FILE --out JSON open DB read-only again and again until FILE exists; in each read
                                transaction check that the balances sum to the constant, that
                                ticks run 1..max with no hole, that a held snapshot does not move,
                                and now and then PRAGMA quick_check; record how long after its
                                commit each new tick became visible. Writes its findings to JSON.
  dump                          every account and tick (seq, time, blob length and digest)
  last                          the last tick's seq
  check                         the reader's invariants, once: prints ok or what is wrong
  integrity                     PRAGMA integrity_check
"""
import hashlib
import json
import os
import random
import sqlite3
import sys
import time

ACCOUNTS = 50


def option(args, name, default=None):
    return args[args.index(name) + 1] if name in args else default


def writer(path, stop):
    db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS acct (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS ticks (seq INTEGER PRIMARY KEY, t REAL NOT NULL, pad BLOB)")
    if db.execute("SELECT count(*) FROM acct").fetchone()[0] == 0:
        db.execute("BEGIN")
        for i in range(1, ACCOUNTS + 1):
            db.execute("INSERT INTO acct VALUES (?, 1000)", (i,))
        db.execute("COMMIT")
    seq = (db.execute("SELECT max(seq) FROM ticks").fetchone()[0] or 0) + 1
    rng = random.Random(seq)
    while not os.path.exists(stop):
        db.execute("BEGIN IMMEDIATE")
        a, b = rng.sample(range(1, ACCOUNTS + 1), 2)
        amount = rng.randint(1, 100)
        db.execute("UPDATE acct SET balance = balance - ? WHERE id = ?", (amount, a))
        db.execute("UPDATE acct SET balance = balance + ? WHERE id = ?", (amount, b))
        pad = os.urandom(200_000 if seq % 50 == 0 else rng.choice([0, 100, 3000]))
        db.execute("INSERT INTO ticks VALUES (?, ?, ?)", (seq, time.time(), pad))
        db.execute("COMMIT")
        seq += 1
        time.sleep(0.02)
    print(seq - 1)


def checkpoint(path):
    db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    db.execute("PRAGMA busy_timeout=30000")
    print("|".join(str(v) for v in db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()))


def read_once(db, findings, hold):
    db.execute("BEGIN")
    total, count = db.execute("SELECT sum(balance), count(*) FROM acct").fetchone()
    top = db.execute("SELECT seq, t FROM ticks ORDER BY seq DESC LIMIT 1").fetchone() or (0, None)
    ticks = db.execute("SELECT count(*) FROM ticks").fetchone()[0]
    if hold:
        time.sleep(0.3)
        again = db.execute("SELECT sum(balance), (SELECT max(seq) FROM ticks) FROM acct").fetchone()
        if (again[0], again[1] or 0) != (total, top[0]):
            findings["violations"].append(f"a held snapshot moved: {(total, top[0])} then {again}")
        findings["held"] += 1
    db.execute("COMMIT")
    if (total, count) != (ACCOUNTS * 1000, ACCOUNTS):
        findings["violations"].append(f"balances sum to {total} over {count} accounts")
    if ticks != top[0]:
        findings["violations"].append(f"{ticks} ticks but the last is {top[0]}")
    return top


def reader(path, stop, out):
    findings = {"transactions": 0, "held": 0, "checks": 0, "errors": [], "violations": [], "lags": [], "last": 0}
    rng = random.Random(os.getpid())
    while not os.path.exists(stop):
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=10.0)
            seen = 0
            for _ in range(rng.randint(5, 50)):
                seq, t = read_once(db, findings, hold=rng.random() < 0.1)
                findings["transactions"] += 1
                if seq < seen:
                    findings["violations"].append(f"one connection went back from tick {seen} to {seq}")
                seen = seq
                if seq > findings["last"]:
                    if findings["last"] > 0:
                        findings["lags"].append(time.time() - t)
                    findings["last"] = seq
                if rng.random() < 0.05:
                    result = db.execute("PRAGMA quick_check").fetchall()
                    findings["checks"] += 1
                    if result != [("ok",)]:
                        findings["violations"].append(f"quick_check: {result[:3]}")
                time.sleep(0.02)
                if os.path.exists(stop):
                    break
            db.close()
        except sqlite3.DatabaseError as error:
            text = str(error)
            target = "violations" if ("malformed" in text or "corrupt" in text) else "errors"
            findings[target].append(text)
            time.sleep(0.05)
    with open(out, "w") as handle:
        json.dump(findings, handle)


def dump(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    for row in db.execute("SELECT id, balance FROM acct ORDER BY id"):
        print("acct", *row)
    for seq, t, pad in db.execute("SELECT seq, t, pad FROM ticks ORDER BY seq"):
        print("tick", seq, repr(t), len(pad or b""), hashlib.sha256(pad or b"").hexdigest()[:16])


def main():
    path, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if command == "writer":
        writer(path, option(args, "--stop"))
    elif command == "checkpoint":
        checkpoint(path)
    elif command == "reader":
        reader(path, option(args, "--stop"), option(args, "--out"))
    elif command == "dump":
        dump(path)
    elif command == "last":
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        print(db.execute("SELECT coalesce(max(seq), 0) FROM ticks").fetchone()[0])
    elif command == "check":
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        findings = {"held": 0, "violations": []}
        read_once(db, findings, hold=False)
        print("; ".join(findings["violations"]) or "ok")
    elif command == "integrity":
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        print(db.execute("PRAGMA integrity_check").fetchone()[0])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
