#!/usr/bin/env python3
"""Check that every value in a Helm values file has a one-line comment right above
it (the chart's documentation lives in values.yaml). Entries of free-form maps
(annotations, labels, matchLabels, nodeSelector, extraEnv...) are exempt: their
parent key carries the comment.

    python3 .ci/values_comments.py helm/todo-app/values.yaml [more files...]
"""

import re
import sys

KEY = re.compile(r"^(?P<indent>\s*)(?P<dash>- )?(?P<key>[A-Za-z0-9_.\-/]+):(\s|$)")
FREE_FORM = {"annotations", "labels", "matchLabels", "nodeSelector", "extraEnv", "podAnnotations"}


def check(path):
    problems = []
    parents = []            # [(indent, key)] of the enclosing keys
    previous = ""
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            stripped = line.strip()
            if not stripped:
                continue
            match = KEY.match(line)
            if match:
                indent = len(match.group("indent")) + (2 if match.group("dash") else 0)
                while parents and parents[-1][0] >= indent:
                    parents.pop()
                in_free_form = any(key in FREE_FORM for _, key in parents)
                commented = previous.startswith("#") or previous.startswith("- #") or " # " in line
                if not in_free_form and not commented:
                    problems.append(f"{path}:{number}: '{match.group('key')}' has no comment above it")
                parents.append((indent, match.group("key")))
            previous = stripped
    return problems


def main():
    problems = [p for path in sys.argv[1:] for p in check(path)]
    for problem in problems:
        print(problem)
    print(f"{len(problems)} value(s) without a comment in {len(sys.argv) - 1} file(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
