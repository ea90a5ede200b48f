"""Seeds N active, confirmed subscriptions of list SLUG straight into a Kuvert
store (benchmark set-up only: real people only ever become active through
their own confirmation). Usage: seed_active.py DATABASE SLUG N"""
import sqlite3
import sys
import time

path, slug, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
(list_id,) = db.execute("SELECT id FROM mailingList WHERE slug = ?", (slug,)).fetchone()
now = time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime())
db.execute("BEGIN")
start = db.execute("SELECT coalesce(max(id), 0) FROM subscriber").fetchone()[0]
db.executemany(
    "INSERT INTO subscriber (id, address, addressKey, createdAt) VALUES (?, ?, ?, ?)",
    ((start + i, f"bench{start + i}@example.se", f"bench{start + i}@example.se", now) for i in range(1, count + 1)))
db.executemany(
    "INSERT INTO subscription (subscriberId, listId, status, language, confirmNonce, requestedAt, confirmedAt, updatedAt)"
    " VALUES (?, ?, 'active', 'sv', '0123456789abcdef0123456789abcdef', ?, ?, ?)",
    ((start + i, list_id, now, now, now) for i in range(1, count + 1)))
db.execute("COMMIT")
