#!/usr/bin/env python3
"""Counts the instructions, and the atomic read-modify-writes among them, that a server executed in
its userland, from a callgrind profile taken with `--dump-instr=yes`.

An atomic read-modify-write (a `lock`-prefixed instruction, or `xchg` with memory) costs some twenty
cycles where a plain instruction costs a fraction of one, so two servers with the same instruction
count can differ in time by how many they execute. Callgrind counts every instruction; this script
finds the atomic ones by disassembling the objects it names (`objdump -d`) and sums
their execution counts.

    atomics.py CALLGRIND_OUT [REQUESTS]

REQUESTS, if given, turns the totals into counts per request. `benches/wrk/atomics.sh` takes the
profile under wrk and calls this.
"""

import re
import subprocess
import sys
from collections import defaultdict


def atomic_addresses(path):
    """The addresses (as objdump and callgrind give them) of an object's atomic read-modify-writes."""
    out = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", path], capture_output=True, text=True, check=True
    ).stdout
    found = set()
    for line in out.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
        if not m:
            continue
        text = m.group(2)
        if text.startswith("lock ") or (text.startswith("xchg") and "(" in text):
            found.add(int(m.group(1), 16))
    return found


def instruction_counts(profile):
    """{(object, address, function): instructions executed there (self cost)} from a callgrind profile.
    Callgrind gives an instruction's address within its object, as objdump does."""
    counts = defaultdict(int)
    names = {}
    functions = {}
    positions = None
    last = [0, 0]
    obj = function = None
    after_call = False
    for line in open(profile):
        if line.startswith("positions:"):
            positions = line.split()[1:]
            continue
        m = re.match(r"(c?)(ob|fn)=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
        if m:
            # Names are compressed in one table per kind (`ob=`/`cob=`, `fn=`/`cfn=`): the first
            # line that uses an id names it.
            called, kind, id, name = m.groups()
            table = names if kind == "ob" else functions
            if name:
                table[id] = name
            if not called and kind == "ob":
                obj = table.get(id)
            elif not called:
                function = table.get(id)
            continue
        if not line or not (line[0].isdigit() or line[0] in "+-*"):
            after_call = line.startswith("calls=")
            continue
        fields = line.split()
        if positions is None or positions[0] != "instr":
            sys.exit("the profile needs --dump-instr=yes")
        npos = len(positions)
        for i in range(npos):
            f = fields[i]
            if f == "*":
                continue
            if f[0] in "+-":
                last[i] += int(f, 0)
            else:
                last[i] = int(f, 0)
        if after_call:
            # The cost line after `calls=` is the call's inclusive cost, not this instruction's.
            after_call = False
            continue
        if len(fields) > npos:
            counts[(obj, last[0], function)] += int(fields[npos])
    return counts


def main():
    profile = sys.argv[1]
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else None
    atomics_of = {}
    total = atomic = 0
    by_object = defaultdict(int)
    by_function = defaultdict(int)
    for (obj, address, function), count in instruction_counts(profile).items():
        total += count
        if obj not in atomics_of:
            try:
                atomics_of[obj] = atomic_addresses(obj)
            except (subprocess.CalledProcessError, FileNotFoundError, TypeError):
                atomics_of[obj] = set()
        if address in atomics_of[obj]:
            atomic += count
            by_object[obj] += count
            by_function[function] += count
    per = (lambda n: f"{n / requests:,.1f} per request") if requests else (lambda n: f"{n:,}")
    print(f"instructions: {per(total)}")
    print(f"atomic read-modify-writes: {per(atomic)}")
    for obj, count in sorted(by_object.items(), key=lambda kv: -kv[1]):
        print(f"  {obj}: {per(count)}")
    print("functions executing them (the top 15):")
    for function, count in sorted(by_function.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {per(count)}: {str(function)[:150]}")


if __name__ == "__main__":
    main()
