#!/usr/bin/python3
"""Checks every DKIM-Signature of a message with dkimpy and with OpenDKIM.

Usage: dkim_verify.py MESSAGE RECORDS WORKDIR
RECORDS holds one "NAME VALUE" line per published key (the TXT record), which
both verifiers are given instead of DNS. Prints one JSON object:
{"signatures": [{"a", "d", "s", "h": [...], "dkimpy": bool}], "opendkim": [lines]}
"""
import json
import os
import subprocess
import sys

import dkim

message_path, records_path, workdir = sys.argv[1:4]
with open(message_path, "rb") as f:
    message = f.read()
if b"\r\n" not in message:
    # A Maildir file (make run's catcher) keeps lines with LF; on the wire they were CRLF.
    message = message.replace(b"\n", b"\r\n")
    message_path = os.path.join(workdir, "message.eml")
    with open(message_path, "wb") as f:
        f.write(message)
records = {}
with open(records_path) as f:
    for line in f:
        if line.strip():
            name, value = line.rstrip("\n").split(" ", 1)
            records[name] = value


def dnsfunc(name, timeout=5):
    return records.get(name.decode().rstrip("."), "").encode() or None


result = {"signatures": [], "opendkim": []}
signer = dkim.DKIM(message)
headers = dkim.rfc822_parse(message)[0]
signature_headers = [value for (name, value) in headers if name.lower() == b"dkim-signature"]
for index, value in enumerate(signature_headers):
    tags = dkim.util.parse_tag_value(value)
    verifier = dkim.DKIM(message)
    try:
        ok = bool(verifier.verify(idx=index, dnsfunc=dnsfunc))
    except Exception as error:  # a malformed signature counts as a failure
        ok = False
        result.setdefault("errors", []).append(str(error))
    result["signatures"].append({
        "a": tags[b"a"].decode(),
        "d": tags[b"d"].decode(),
        "s": tags[b"s"].decode(),
        "h": [h.strip().decode() for h in tags[b"h"].split(b":")],
        "dkimpy": ok,
    })

# OpenDKIM's test mode reports on the first signature only, and exits 0
# whether or not it verifies: run it once per signature, on a copy that holds
# only that one (no signature covers another), and keep its log line.
keys_path = os.path.join(workdir, "opendkim.keys")
with open(keys_path, "w") as f:
    for name, value in records.items():
        f.write(f"{name} {value}\n")
conf_path = os.path.join(workdir, "opendkim.conf")
with open(conf_path, "w") as f:
    f.write(f"Mode v\nTestPublicKeys {keys_path}\nSyslog no\nLogWhy yes\n")
header_end = message.index(b"\r\n\r\n")
lines = message[:header_end].split(b"\r\n")
fields = []
for line in lines:
    if line[:1] in (b" ", b"\t") and fields:
        fields[-1] += b"\r\n" + line
    else:
        fields.append(line)
signatures = [f for f in fields if f.lower().startswith(b"dkim-signature:")]
others = [f for f in fields if not f.lower().startswith(b"dkim-signature:")]
for index, signature in enumerate(signatures):
    copy_path = os.path.join(workdir, f"signature{index}.eml")
    with open(copy_path, "wb") as f:
        f.write(b"\r\n".join([signature] + others) + message[header_end:])
    run = subprocess.run(["/usr/sbin/opendkim", "-x", conf_path, "-t", copy_path],
                         capture_output=True, text=True, timeout=30)
    output = " ".join(line.strip() for line in (run.stdout + run.stderr).splitlines() if line.strip())
    result["opendkim"].append(output)
print(json.dumps(result))
