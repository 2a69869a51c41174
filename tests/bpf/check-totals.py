#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares rseq-top's final totals with what the workload counted itself.

usage: check-totals.py WORKLOAD.json TOP.json [options]
  WORKLOAD.json  one or more lines {"ok":..,"sequences":[{"name","pid"?,"start_ip",
                 "commits","aborts"}]} (abort-workload --json, rseq-stress --json)
  TOP.json       rseq-top's {"missed":N,"sequences":[{"pid","comm","name","start_ip",
                 "aborts","causes"?}]} (the last such line of the file)
options:
  --min-aborts N       the workload must have aborted at least N times in all
  --causes             every row must have causes adding up to its aborts
  --min-share C=F      cause C must account for at least fraction F of all aborts
  --names              check SEQUENCE names (name records, symbol fallback)
  --pids-only          rseq-top may list only the workload's PIDs (needs "pid")
Exits 0 when everything matches; prints each mismatch and exits 1 otherwise.
"""
import json
import sys


def load_lines(path, key):
    """Every JSON document in the file that has `key`: one per line (rseq-top -j, the
    test workload) or spread over several lines (rseq-stress --json); other text is
    skipped."""
    docs = []
    dec = json.JSONDecoder()
    with open(path) as f:
        text = f.read()
    i = 0
    while True:
        i = text.find("{", i)
        if i < 0:
            break
        # Only a document that starts a line: a brace inside other text is not one.
        if i > 0 and text[text.rfind("\n", 0, i) + 1:i].strip():
            i += 1
            continue
        doc, end = dec.raw_decode(text, i)
        if key in doc:
            docs.append(doc)
        i = end
    return docs


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    wl_docs = load_lines(argv[1], "sequences")
    top_docs = load_lines(argv[2], "sequences")
    opts = argv[3:]
    errors = []
    if not wl_docs:
        print("check-totals: no workload JSON in %s" % argv[1])
        return 1
    if not top_docs:
        print("check-totals: no rseq-top JSON in %s" % argv[2])
        return 1
    for d in wl_docs:
        if not d.get("ok"):
            errors.append("the workload reports a failure: %s" % d.get("error", "?"))
    top = top_docs[-1]["sequences"]

    # The workload's own counts, by (pid or None, start_ip).
    expected = {}
    names = {}
    for d in wl_docs:
        for s in d["sequences"]:
            key = (s.get("pid"), int(s["start_ip"], 16))
            expected[key] = expected.get(key, 0) + s["aborts"]
            names[key] = s["name"]
    have_pids = all(k[0] is not None for k in expected)

    got = {}
    for r in top:
        key = (r["pid"] if have_pids else None, int(r["start_ip"], 16))
        got[key] = got.get(key, 0) + r["aborts"]

    total_expected = sum(expected.values())
    total_got = sum(r["aborts"] for r in top)
    # Aborts the kernel did not let the counter see (rseq-top(8), NOTES): they cannot be
    # charged to a sequence, so with misses each sequence may only come out short, and
    # counts plus misses must make the workload's total.  Without, every count is exact.
    if "missed" not in top_docs[-1]:
        errors.append("rseq-top's final document has no \"missed\"")
    missed = top_docs[-1].get("missed", 0)
    i = 0
    while i < len(opts):
        if opts[i] == "--min-aborts":
            if total_expected < int(opts[i + 1]):
                errors.append("only %d aborts in the workload (want at least %s): the test proves nothing"
                              % (total_expected, opts[i + 1]))
            i += 1
        i += 1

    for key, n in sorted(expected.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        if got.get(key, 0) > n or (not missed and got.get(key, 0) != n):
            errors.append("sequence %s pid %s start_ip 0x%x: workload counted %d aborts, rseq-top %d"
                          % (names[key], key[0], key[1], n, got.get(key, 0)))
    for key, n in got.items():
        if key not in expected:
            errors.append("rseq-top counted %d aborts at 0x%x in pid %s, which the workload does not know"
                          % (n, key[1], key[0]))
    if total_got + missed != total_expected:
        errors.append("total: workload %d, rseq-top %d counted and %d missed" % (total_expected, total_got, missed))

    i = 0
    while i < len(opts):
        o = opts[i]
        if o == "--causes":
            for r in top:
                c = r.get("causes")
                if c is None:
                    errors.append("row without causes: %s" % r)
                elif sum(c.values()) != r["aborts"]:
                    errors.append("causes of %s add up to %d, not %d" % (r["name"], sum(c.values()), r["aborts"]))
        elif o == "--min-share":
            cause, frac = opts[i + 1].split("=")
            share = sum(r["causes"][cause] for r in top) / max(total_got, 1)
            print("check-totals: %s share %.4f of %d aborts" % (cause, share, total_got))
            if share < float(frac):
                errors.append("%s accounts for %.4f of the aborts, want at least %s: %s"
                              % (cause, share, frac, [r["causes"] for r in top]))
            i += 1
        elif o == "--names":
            for r in top:
                key = (r["pid"] if have_pids else None, int(r["start_ip"], 16))
                want = names.get(key)
                if want in ("t_add", "t_lib"):
                    if r["name"] != want:
                        errors.append("0x%x is named %r, want the name record %r" % (key[1], r["name"], want))
                elif want == "t_store":
                    if not (r["name"].startswith("op_store+0x") and "abort-workload.c:" in r["name"]):
                        errors.append("0x%x is named %r, want op_store+0x.. (abort-workload.c:N)"
                                      % (key[1], r["name"]))
        elif o == "--pids-only":
            pids = {k[0] for k in expected}
            for r in top:
                if r["pid"] not in pids:
                    errors.append("rseq-top lists pid %d (%s), which is not the workload's" % (r["pid"], r["comm"]))
        elif o == "--min-aborts":
            i += 1
        else:
            print("check-totals: unknown option %s" % o)
            return 2
        i += 1

    for e in errors:
        print("check-totals: " + e)
    if not errors:
        print("check-totals: %d aborts in %d sequences match exactly%s"
              % (total_got, len(expected), " (%d more reported missed)" % missed if missed else ""))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
