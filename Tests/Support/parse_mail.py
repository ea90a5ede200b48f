"""Parses a message with Python's email package and prints what a mail client
would see, as JSON: decoded headers, defects, parts and line lengths.

Usage: parse_mail.py FILE.eml
"""
import email
import email.policy
import json
import sys

raw = open(sys.argv[1], "rb").read()
message = email.message_from_bytes(raw, policy=email.policy.default)
lines = raw.split(b"\r\n")
result = {
    "headers": {name: str(value) for name, value in message.items()},
    "defects": [repr(d) for d in message.defects],
    "content_type": message.get_content_type(),
    "parts": [],
    "max_line_length": max(len(line) for line in lines),
    "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
}
for part in message.walk():
    if part.is_multipart():
        continue
    result["parts"].append({
        "content_type": part.get_content_type(),
        "charset": part.get_content_charset(),
        "transfer_encoding": part.get("Content-Transfer-Encoding"),
        "content": part.get_content(),
        "defects": [repr(d) for d in part.defects],
    })
print(json.dumps(result))
