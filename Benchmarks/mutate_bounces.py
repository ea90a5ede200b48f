#!/usr/bin/env python3
"""Hostile copies of real bounces, for Benchmarks/bounces.sh --hostile.

usage: mutate_bounces.py OUT SEED DIR...

Writes, for each .eml in each DIR, eight mutations to OUT: cut at a random
point, 64 random bytes changed, every MIME boundary line removed, a header
field repeated 2,000 times, one line of 1 MB with no line break, 300 levels
of nested multiparts before the body, NUL and 8-bit bytes everywhere, and the
body doubled 50 times (each at most 4 MiB, Kuvert's limit for a message).
Deterministic for a seed.
"""
import os
import random
import re
import sys

out, seed, dirs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rng = random.Random(seed)
limit = 4 << 20
os.makedirs(out, exist_ok=True)


def mutations(raw):
    yield raw[: rng.randrange(1, max(2, len(raw)))]
    flipped = bytearray(raw)
    for _ in range(64):
        flipped[rng.randrange(len(flipped))] = rng.randrange(256)
    yield bytes(flipped)
    yield re.sub(rb"(?m)^--[^\r\n]*\r?\n", b"", raw)
    head, _, body = raw.partition(b"\n\n")
    yield head + b"\n" + b"X-Repeated: 550 5.1.1 user unknown\n" * 2000 + b"\n" + body
    yield raw + b"\n" + b"a" * (1 << 20)
    nest = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(300))
    yield head + b"\nContent-Type: multipart/mixed; boundary=top\n\n--top\n" + nest + body
    yield bytes(b if rng.random() > 0.05 else rng.choice([0, 0x80, 0xFF, 0x1B]) for b in raw)
    yield raw * 50


count = 0
for directory in dirs:
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".eml"):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            raw = f.read()
        for index, mutated in enumerate(mutations(raw)):
            with open(os.path.join(out, "%s-%d.eml" % (name[:-4], index)), "wb") as f:
                f.write(mutated[:limit])
            count += 1
print(count)
