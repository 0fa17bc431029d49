"""`make package` builds a self-sufficient app: each function imports from the package folder
with only its `.python_packages` on the path (no venv, no site-packages, no repo)."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO
from tools.package_app import SITE_PACKAGES, app_files, read_ignore_rules

FUNCTIONS = sorted(p.parent.name for p in REPO.glob("*/function.json"))

# Imports each function folder with nothing but the stdlib, the package and its packages on
# sys.path, then lists every loaded module whose file lies anywhere else.
_IMPORT_PROBE = """
import importlib, json, sys
package, stdlib = sys.argv[1], sys.argv[2]
sys.path[:] = [package, package + "/.python_packages/lib/site-packages"] + [
    p for p in sys.path if p.startswith(stdlib)
]
loaded = {name: callable(getattr(importlib.import_module(name), "main", None))
          for name in sys.argv[3:]}
outside = sorted(
    m.__file__ for m in list(sys.modules.values())
    if getattr(m, "__file__", None) and not m.__file__.startswith((package, stdlib))
)
print(json.dumps({"loaded": loaded, "outside": outside}))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package `make package` (what azd's prepackage hook runs) builds from this checkout,
    into a temporary folder, with its zip beside it. The test's own interpreter runs it, and
    the venv is taken as it is (`-o`: never rebuilt from here)."""
    out = tmp_path_factory.mktemp("package")
    command = ["make", "-s", "-o", ".venv/.installed", "package"]
    result = subprocess.run(
        [*command, f"PY={sys.executable}", f"PACKAGE_DIR={out}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"make package failed:\n{result.stdout}\n{result.stderr}"
    return out / "deploy"


def test_the_functions_are_the_four_known_ones_or_more() -> None:
    assert {"send_sms", "send_call", "twiml_voice", "status_callback"} <= set(FUNCTIONS)


def test_package_holds_only_the_app(package: Path) -> None:
    top = {p.name for p in package.iterdir()}
    assert top == {*FUNCTIONS, "shared", "host.json", "requirements.txt", ".python_packages"}
    for function in FUNCTIONS:
        assert (package / function / "function.json").is_file()
        assert (package / function / "__init__.py").is_file()
    assert not list(package.rglob("local.settings*.json"))
    assert not list(package.rglob("__pycache__"))


def test_packages_are_linux_cp313_builds(package: Path) -> None:
    site = package / SITE_PACKAGES
    extensions = [p.name for p in site.rglob("*.so")]
    assert extensions, "expected compiled wheels (pydantic-core) in the package"
    assert all("cpython-313-x86_64-linux-gnu" in name or ".abi3." in name for name in extensions)
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name = line.split("==")[0].strip().lower().replace("-", "_")
            assert name in installed, f"{name} from requirements.txt is not in the package"


def test_each_function_imports_from_the_package_alone(package: Path) -> None:
    stdlib = sysconfig.get_paths()["stdlib"]
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", _IMPORT_PROBE, str(package), stdlib, *FUNCTIONS],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=package.parent,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["loaded"] == dict.fromkeys(FUNCTIONS, True)
    assert report["outside"] == []


def test_the_zip_is_the_folder(package: Path) -> None:
    with zipfile.ZipFile(package.parent / "api.zip") as archive:
        names = set(archive.namelist())
    files = {p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file()}
    assert names == files


def test_funcignore_keeps_the_non_deployed_folders_out() -> None:
    rules = read_ignore_rules(REPO / ".funcignore")
    anchored = {rule.pattern for rule in rules if rule.anchored}
    assert {"emulators", "tests", "bench", "docs", "node_modules", "infra", "producer"} <= anchored
    assert {"schemas", ".venv", "local.settings*.json", "build", "tools", ".azure"} <= anchored
    # Repository folders are anchored: the same names inside packages stay.
    assert not {"tests", "docs", "build"} & {r.pattern for r in rules if not r.anchored}


def test_virtual_environments_and_ignored_files_are_not_copied(tmp_path: Path) -> None:
    (tmp_path / ".funcignore").write_text("/tests\n__pycache__\n", encoding="utf-8")
    for name in ("app_env/pyvenv.cfg", "app_env/lib/x.py", "tests/t.py", "fn/__pycache__/a.pyc"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "fn/__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "fn/tests/keep.py").parent.mkdir()
    (tmp_path / "fn/tests/keep.py").write_text("", encoding="utf-8")
    files = app_files(tmp_path, read_ignore_rules(tmp_path / ".funcignore"))
    assert [f.as_posix() for f in files] == [".funcignore", "fn/__init__.py", "fn/tests/keep.py"]
