#!/usr/bin/env python3
"""Prints PIT's mutation score per package and per class from target/pit-reports/mutations.xml.

   hack/lib/mutation-score.py [mutations.xml] [--survivors PACKAGE]

Killed = KILLED + TIMED_OUT + MEMORY_ERROR (PIT counts them all as detected); the score is killed
over all mutants, uncovered ones included. --survivors lists the surviving and uncovered mutants of
the packages whose name contains PACKAGE (file:line, method, what was changed).
"""
import collections
import sys
import xml.etree.ElementTree as ET

args = [a for a in sys.argv[1:] if not a.startswith("--")]
path = args[0] if args else "target/pit-reports/mutations.xml"
survivors_of = None
if "--survivors" in sys.argv:
    survivors_of = sys.argv[sys.argv.index("--survivors") + 1]
    if args and args[0] == survivors_of:
        path = "target/pit-reports/mutations.xml"

DETECTED = {"KILLED", "TIMED_OUT", "MEMORY_ERROR", "RUN_ERROR"}
by_package = collections.defaultdict(collections.Counter)
by_class = collections.defaultdict(collections.Counter)
left = []
for m in ET.parse(path).getroot():
    cls = m.findtext("mutatedClass").split("$")[0]
    package = cls.rsplit(".", 1)[0]
    status = m.get("status")
    outcome = "killed" if status in DETECTED else "survived" if status == "SURVIVED" else "no coverage"
    for counter in (by_package[package], by_class[cls]):
        counter[outcome] += 1
        counter["all"] += 1
    if outcome != "killed" and survivors_of and survivors_of in package:
        left.append(f"{m.findtext('sourceFile')}:{m.findtext('lineNumber')} {m.findtext('mutatedMethod')}: "
                    f"{m.findtext('description')} ({outcome})")


def row(name, c):
    return f"{name:<60} {c['killed']:>5} / {c['all']:<5} {100.0 * c['killed'] / c['all']:5.1f}%" \
           f"   survived {c['survived']}, no coverage {c['no coverage']}"


print(f"{'mutation score (killed / generated)':<60}")
for package in sorted(by_package):
    print(row(package, by_package[package]))
    for cls in sorted(c for c in by_class if c.rsplit(".", 1)[0] == package):
        print(row("  " + cls.rsplit(".", 1)[1], by_class[cls]))
total = collections.Counter()
for c in by_package.values():
    total.update(c)
print(row("all", total))
for line in sorted(left):
    print("  " + line)
