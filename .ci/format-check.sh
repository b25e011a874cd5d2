#!/usr/bin/env bash
# Code style check: `swift format lint --strict` with the rules of .swift-format, and no line of
# Swift longer than its lineLength. Runs in about two seconds and builds nothing.
#
# The tree is formatted by hand (aligned continuation lines, short bodies kept on one line), so
# the whitespace layout of swift-format's pretty printer is not enforced: it would rewrite some
# 1,500 lines. --debug-disable-pretty-print runs the rule checks only (naming, documentation
# comments, no implicitly unwrapped optionals, `where` in for loops, ...); the line
# length, normally a pretty-printer finding, is checked here instead. CONTRIBUTING.md lists the
# rules turned off and why.
#
# Usage: .ci/format-check.sh [--help] [PATH...]   (from anywhere; default paths: Sources Tests
#        Package.swift). Needs `swift format` (in the Swift 6 toolchain) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi

for tool in swift python3; do
    command -v "$tool" >/dev/null || { echo "format-check: $tool is not on PATH" >&2; exit 2; }
done
swift format --version >/dev/null 2>&1 || { echo "format-check: 'swift format' is missing (Swift 6 toolchain)" >&2; exit 2; }

if [ "$#" -eq 0 ]; then set -- Sources Tests Package.swift; fi

status=0
# swift-format finds .swift-format by walking up from each file.
swift format lint --strict --debug-disable-pretty-print --parallel --recursive "$@" || status=1

python3 - "$@" <<'PY' || status=1
import json, pathlib, sys
limit = json.load(open(".swift-format"))["lineLength"]
files = []
for arg in map(pathlib.Path, sys.argv[1:]):
    files += sorted(arg.rglob("*.swift")) if arg.is_dir() else [arg]
long = [(path, number, len(line))
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if len(line) > limit]
for path, number, length in long:
    print(f"{path}:{number}:{limit + 1}: error: [LineLength] line is {length} characters, over lineLength {limit}")
sys.exit(1 if long else 0)
PY

if [ "$status" -eq 0 ]; then echo "format-check: no findings"; fi
exit "$status"
