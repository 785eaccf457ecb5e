"""The built wheel holds every package folder: a new area's folder cannot be left out silently."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SOURCE_FOLDERS = ("core", "adapters", "plugins", "migrations")


def uv_command() -> list[str]:
    """`scripts/dev` installs uv on the PATH or as the machine Python's module."""
    found = shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


def package_folders() -> set[str]:
    """Import names of every source folder that holds Python modules."""
    names = set()
    for top in SOURCE_FOLDERS:
        for module in (ROOT / top).rglob("*.py"):
            if "__pycache__" in module.parts:
                continue
            relative = module.parent.relative_to(ROOT)
            names.add(".".join(("openmailer", *relative.parts)))
    return names


def clean_copy(destination: Path) -> Path:
    """The files git would commit, without a stale `build/` whose modules setuptools would
    pack into the wheel and so hide a missing package."""
    listed = subprocess.run(
        [
            "git",
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
            "--",
            "pyproject.toml",
            "README.md",
            *SOURCE_FOLDERS,
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    # Only the root project is built; the workspace member need not come along.
    pyproject = destination / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('members = ["sender_rs"]', "members = []"))
    return destination


def test_the_wheel_contains_every_package_folder_and_the_migration_files(tmp_path: Path) -> None:
    source = clean_copy(tmp_path / "source")
    subprocess.run(
        [*uv_command(), "build", "--wheel", "--out-dir", str(tmp_path), "--quiet", str(source)],
        check=True,
        cwd=source,
        timeout=300,
    )
    [wheel] = tmp_path.glob("openmailer-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
    packaged = {name.rsplit("/", 1)[0].replace("/", ".") for name in files if name.endswith(".py")}
    missing = sorted(package_folders() - packaged)
    assert missing == [], f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert "openmailer/migrations/alembic.ini" in files
    entry_points = next(name for name in files if name.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel) as archive:
        declared = archive.read(entry_points).decode()
    assert (
        "[openmailer]" in declared and "accounts = openmailer.adapters.areas.accounts" in declared
    )
