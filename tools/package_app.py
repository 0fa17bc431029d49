"""`make package`: the deployable function app, built here instead of by a remote (Oryx) build.

The folder holds what `.funcignore` lets through (the function folders, `shared/`, `host.json`,
`requirements.txt`) plus `.python_packages/lib/site-packages` with `requirements.txt` installed
as Linux / CPython 3.13 wheels, which is where the Functions Python worker looks for them. The
zip of that folder is what azd deploys (`azure.yaml`: `dist`, `remoteBuild: false`) and what the
tests import the functions from.
"""

from __future__ import annotations

import argparse
import fnmatch
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
SITE_PACKAGES = PurePosixPath(".python_packages/lib/site-packages")
# The Flex Consumption workers: Linux x86-64, CPython 3.13.
PIP_PLATFORM_ARGS = (
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    "3.13",
    "--implementation",
    "cp",
    "--only-binary=:all:",
)
# A fixed timestamp keeps the zip identical for identical inputs.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class IgnoreRule:
    """One `.funcignore` line, with gitignore's meaning for the cases it uses."""

    pattern: str
    directory_only: bool
    anchored: bool

    def matches(self, path: PurePosixPath, is_dir: bool) -> bool:
        """Whether this rule excludes `path` (relative to the app root)."""
        if self.directory_only and not is_dir:
            return False
        if self.anchored:
            return fnmatch.fnmatchcase(path.as_posix(), self.pattern)
        return fnmatch.fnmatchcase(path.name, self.pattern)


def read_ignore_rules(funcignore: Path) -> list[IgnoreRule]:
    """The rules of a `.funcignore` file (comments and blank lines skipped; no `!` negation)."""
    rules: list[IgnoreRule] = []
    for raw in funcignore.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            raise ValueError(f"{funcignore}: negated pattern {line!r} is not supported")
        directory_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        rules.append(IgnoreRule(line.lstrip("/"), directory_only, anchored))
    return rules


def app_files(root: Path, rules: Sequence[IgnoreRule]) -> list[PurePosixPath]:
    """Every file under `root` that no rule excludes (an excluded folder is not entered, nor
    is a virtual environment)."""
    found: list[PurePosixPath] = []

    def walk(folder: Path) -> None:
        for entry in sorted(folder.iterdir()):
            relative = PurePosixPath(entry.relative_to(root).as_posix())
            is_dir = entry.is_dir() and not entry.is_symlink()
            if any(rule.matches(relative, is_dir) for rule in rules):
                continue
            # Any virtual environment (azd's restore makes `<folder>_env`), as azd skips them.
            if is_dir and (entry / "pyvenv.cfg").exists():
                continue
            if is_dir:
                walk(entry)
            elif entry.is_file():
                found.append(relative)

    walk(root)
    return found


def install_packages(requirements: Path, target: Path) -> None:
    """`pip install --target` the requirements as Linux / CPython 3.13 binary wheels."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(target),
        *PIP_PLATFORM_ARGS,
        "-r",
        str(requirements),
    ]
    subprocess.run(command, check=True, timeout=900)


def write_zip(folder: Path, zip_path: Path) -> None:
    """Zip `folder`'s contents (paths relative to it), sorted and with fixed timestamps."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_ZIP_DATE)
            info.external_attr = (path.stat().st_mode & 0o777) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def build_package(root: Path, out: Path, zip_path: Path | None) -> list[PurePosixPath]:
    """Build the deployable folder `out` (emptied first) from the app at `root`, and its zip.

    Returns the app files copied (the installed packages are not listed)."""
    out = out.resolve()
    if out == root.resolve() or out in root.resolve().parents:
        raise ValueError(f"refusing to replace {out}: it holds the app")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rules = read_ignore_rules(root / ".funcignore")
    # A local .python_packages (a developer's own build) is never copied: it is installed below.
    files = [
        f
        for f in app_files(root, rules)
        if f.parts[0] != SITE_PACKAGES.parts[0] and not (root / f).resolve().is_relative_to(out)
    ]
    for relative in files:
        destination = out / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, destination)
    install_packages(root / "requirements.txt", out / SITE_PACKAGES)
    if zip_path is not None:
        write_zip(out, zip_path)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: `python -m tools.package_app [--out DIR] [--zip FILE]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "deploy")
    parser.add_argument("--zip", type=Path, default=ROOT / "build" / "api.zip")
    parser.add_argument("--no-zip", action="store_true", help="build the folder only")
    args = parser.parse_args(argv)
    files = build_package(ROOT, args.out, None if args.no_zip else args.zip)
    print(f"packaged {len(files)} app files and requirements.txt's packages into {args.out}")
    if not args.no_zip:
        print(f"zip: {args.zip}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
