"""Prints how many outbox messages there are and how many are recorded sent:
`total sent`, for all messages or one campaign's. Read-only.
Usage: outbox.py DATABASE [CAMPAIGN_ID]"""
import sqlite3
import sys

db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
where, arguments = ("WHERE campaignId = ?", (int(sys.argv[2]),)) if len(sys.argv) > 2 else ("", ())
total, sent = db.execute(
    f"SELECT count(*), coalesce(sum(status = 'sent'), 0) FROM outboxMessage {where}", arguments).fetchone()
print(total, sent)
