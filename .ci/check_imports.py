#!/usr/bin/env python3
"""Every module a Swift target imports is declared in that target's dependencies.

usage: check_imports.py [--package-path DIR] [--package-json FILE]

SwiftPM's `--explicit-target-dependency-import-check` only looks at the package's own targets:
a target that imports NIOCore, but declares only Hummingbird (which brings NIOCore with it),
builds, and breaks when Hummingbird stops depending on NIOCore. This script reads the package
description (`swift package dump-package`, which compiles the manifest but builds and resolves
nothing) and, for each regular, executable, macro and test target, compares the modules its
sources import with the modules it may import:
  - its target dependencies (`"Name"`, `.target(name:)`),
  - its product dependencies: a Swift product exposes a module with the product's name
    (or the alias given in moduleAliases),
  - the target itself, and the toolchain's modules in SYSTEM_MODULES, which need no
    declaration.
An import is found at the start of a line (after indentation), in every form: `import X`,
`@testable import X`, `public import X`, `@_exported import X`, `@preconcurrency import X`,
`import struct X.Y`, ...; lines inside /* */ comments and multi-line strings are skipped.

Prints `Sources/TodoAPI/Foo.swift:3: TodoAPI imports NIOCore but does not declare it` for
each undeclared import and exits 1, or prints a one-line summary and exits 0.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

# Modules of the Swift toolchain and the OS: importable by any target without a declaration.
SYSTEM_MODULES = {
    "Swift", "_Concurrency", "_StringProcessing", "Synchronization", "Observation", "Distributed",
    "Foundation", "FoundationEssentials", "FoundationInternationalization", "FoundationNetworking",
    "FoundationXML", "CoreFoundation", "Dispatch", "XCTest", "Testing",
    "Glibc", "Musl", "Darwin", "os", "WinSDK",
}

# Target types whose sources are Swift code (system-library, binary and plugin targets are not
# imported from, or hold no Swift sources to check).
CHECKED_TYPES = {"regular", "executable", "macro", "test"}

# `import` at the start of a line, after any attributes (@testable, @_spi(X), ...) and an access
# level (SE-0409), optionally of a single declaration (`import struct X.Y`). Group 1 is the
# module: the first component, since `X.Y` is a submodule or a declaration of module X.
IMPORT = re.compile(r"""
    ^\s*
    (?: (?: @\w+ (?:\([^)]*\))? | public | package | internal | fileprivate | private ) \s+ )*
    import \s+
    (?: (?: typealias | struct | class | enum | protocol | let | var | func ) \s+ )?
    (\w+)
""", re.VERBOSE)


def load_package(package_path: Path, package_json: str | None) -> dict:
    """The package description: from a saved JSON file (`-` for stdin), or from SwiftPM."""
    if package_json == "-":
        return json.load(sys.stdin)
    if package_json:
        return json.loads(Path(package_json).read_text())
    # A scratch path of its own, so a build running in .build (which holds its lock) does not
    # make this wait; dump-package needs nothing from .build.
    with tempfile.TemporaryDirectory(prefix="check-imports-") as scratch:
        result = subprocess.run(
            ["swift", "package", "--package-path", str(package_path), "--scratch-path", scratch, "dump-package"],
            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"check_imports: swift package dump-package failed:\n{result.stderr.strip()}")
    return json.loads(result.stdout)


def declared_modules(target: dict) -> set[str]:
    """The modules a target may import: itself and what its dependencies name.

    dump-package writes each dependency as {"byName": [name, condition]},
    {"target": [name, condition]} or {"product": [name, package, moduleAliases, condition]}.
    """
    modules = {target["name"]}
    for dependency in target.get("dependencies", []):
        (kind, fields), = dependency.items()
        modules.add(fields[0])
        if kind == "product" and fields[2]:
            # moduleAliases renames a module of the product: the target imports the alias.
            modules.update(fields[2].values())
    return modules


def source_directory(package_path: Path, target: dict) -> Path:
    """The target's `path`, else SwiftPM's default folder for its type."""
    if target.get("path"):
        return package_path / target["path"]
    folder = "Tests" if target["type"] == "test" else "Sources"
    return package_path / folder / target["name"]


def swift_files(directory: Path, target: dict) -> list[Path]:
    """The target's .swift files, honouring its `sources` and `exclude` lists (relative paths)."""
    roots = [directory / source for source in target.get("sources") or []] or [directory]
    excluded = [directory / path for path in target.get("exclude") or []]
    files = []
    for root in roots:
        for file in [root] if root.is_file() else sorted(root.rglob("*.swift")):
            if file.suffix == ".swift" and not any(file == path or path in file.parents for path in excluded):
                files.append(file)
    return files


def scan(line: str, depth: int, in_string: bool) -> tuple[int, bool]:
    """The state after `line`: the depth of nested /* */ comments (Swift nests them) and
    whether a multi-line \"\"\" string is open. Single-line strings are skipped so a "/*" in
    one opens no comment."""
    index = 0
    while index < len(line):
        rest = line[index:]
        if in_string:
            if rest.startswith('"""'):
                in_string, index = False, index + 3
            else:
                index += 2 if rest.startswith("\\") else 1
        elif depth:
            if rest.startswith("/*"):
                depth, index = depth + 1, index + 2
            elif rest.startswith("*/"):
                depth, index = depth - 1, index + 2
            else:
                index += 1
        elif rest.startswith("//"):
            break
        elif rest.startswith("/*"):
            depth, index = 1, index + 2
        elif rest.startswith('"""'):
            in_string, index = True, index + 3
        elif rest.startswith('"'):
            closing = re.match(r'"(?:\\.|[^"\\])*"', rest)
            index += closing.end() if closing else len(rest)
        else:
            index += 1
    return depth, in_string


def imports(file: Path) -> list[tuple[int, str]]:
    """(line number, module) of each import statement in a Swift file."""
    found = []
    depth, in_string = 0, False
    for number, line in enumerate(file.read_text(errors="replace").splitlines(), 1):
        if depth == 0 and not in_string:
            match = IMPORT.match(line)
            if match:
                found.append((number, match.group(1)))
        depth, in_string = scan(line, depth, in_string)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Exit status 1 when an import is not declared.")
    parser.add_argument("--package-path", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the Swift package (default: this repository)")
    parser.add_argument("--package-json", metavar="FILE",
                        help="a saved `swift package dump-package` output ('-': stdin) instead of running SwiftPM")
    arguments = parser.parse_args()
    package_path = arguments.package_path.resolve()
    package = load_package(package_path, arguments.package_json)

    violations = files_checked = imports_checked = 0
    targets = [target for target in package["targets"] if target["type"] in CHECKED_TYPES]
    for target in targets:
        allowed = declared_modules(target) | SYSTEM_MODULES
        for file in swift_files(source_directory(package_path, target), target):
            files_checked += 1
            for number, module in imports(file):
                imports_checked += 1
                if module not in allowed:
                    violations += 1
                    print(f"{file.relative_to(package_path)}:{number}: {target['name']} imports {module} but does not declare it")
    if violations:
        print(f"check_imports: {violations} undeclared import(s); add the modules to the targets' dependencies in Package.swift")
        return 1
    print(f"check_imports: {len(targets)} targets, {files_checked} files, {imports_checked} imports: every imported module is declared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
