"""The tool installs as a normal wheel and runs outside the checkout (issue 18, item 5).

A copy of the sources (only what pyproject.toml packages, so a file the wheel forgets is
missed here too) is built into a wheel with pip, the wheel is installed with
`pip install --no-deps --target SITE`, and the commands run from a directory outside the
checkout with PYTHONPATH=SITE and this project's .venv python (which supplies dolfinx,
gmsh and the other dependencies). Everything the installed tool reads at run time must
come from SITE: the packages, the shipped scenarios and validation files, the version.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from sim.about import tool_version, version_text
from sim.shipped import KINDS, PATTERNS, ShippedFilesMissing, describe, shipped_dir, shipped_files

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "sim", "meshes", "postprocess", "scenarios", "validation", "hpc")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "ILIZAROV"))}
    env["PYTHONPATH"] = str(site)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(site, cwd): the wheel installed into `site`, and an empty directory to run in."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    dist = base / "dist"
    # without build isolation when setuptools is here (offline); else pip fetches it
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "--wheel-dir", str(dist),
                        str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    (wheel,) = dist.glob("ilizarov-*.whl")
    site = base / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site),
                        str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    cwd = base / "elsewhere"
    cwd.mkdir()
    return wheel, site, cwd


def _run(installed, *args, timeout=300):
    _, site, cwd = installed
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_env(site), capture_output=True, text=True,
                          timeout=timeout)


def test_version_has_one_source():
    """pyproject.toml's version is what the tool reports (read from the installed metadata)."""
    assert tool_version() == PROJECT["project"]["version"]
    text = version_text()
    assert text.startswith(f"ilizarov {PROJECT['project']['version']} (dolfinx 0.11"), text
    assert "gmsh 4." in text and f"Python {sys.version_info.major}.{sys.version_info.minor}" in text
    wheel = f"dist/ilizarov-{PROJECT['project']['version']}-py3-none-any.whl[fenicsx]"
    assert wheel in (ROOT / "README.md").read_text(), f"README's install line should name {wheel}"


def test_the_shipped_globs_match_pyproject():
    """sim.shipped lists what the wheel carries: the same globs as pyproject's package-data,
    and every shipped folder mapped onto its top-level folder."""
    setup = PROJECT["tool"]["setuptools"]
    for kind in KINDS:
        globs = []
        for pkg, patterns in setup["package-data"].items():
            if pkg == f"sim._shipped.{kind}" or pkg.startswith(f"sim._shipped.{kind}."):
                sub = setup["package-dir"][pkg].removeprefix(kind).strip("/")
                globs += [f"{sub}/{p}" if sub else p for p in patterns]
                assert pkg in setup["packages"], pkg
        assert sorted(globs) == sorted(PATTERNS[kind]), kind
        assert setup["package-dir"][f"sim._shipped.{kind}"] == kind
    assert "standard-4ring.toml" in {str(p) for p in shipped_files("scenarios")}
    assert describe(shipped_dir("scenarios") / "standard-4ring.toml").startswith("Four-ring Ilizarov frame")


def test_unknown_or_missing_shipped_files_are_named(monkeypatch, tmp_path):
    import sim.shipped as shipped

    with pytest.raises(ValueError, match="shipped file kind 'meshes'; accepted: scenarios, validation, hpc"):
        shipped_dir("meshes")
    monkeypatch.setattr(shipped, "PACKAGE_DIR", tmp_path / "sim")
    with pytest.raises(ShippedFilesMissing, match=r"the shipped validation are missing: neither .*_shipped/validation "
                                                  r"\(an installed wheel\) nor .*validation \(a source checkout\)"):
        shipped_dir("validation")


@pytest.mark.slow
def test_wheel_carries_the_shipped_files(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for kind in KINDS:
        for rel in shipped_files(kind):  # from the checkout
            assert f"sim/_shipped/{kind}/{rel.as_posix()}" in names, (kind, rel)
    assert "postprocess/static/vtk.js" in names
    assert not any(n.startswith(("tests/", "benchmarks/", "docs/", "scenarios/", "validation/")) for n in names)
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "ilizarov = sim.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


@pytest.mark.slow
def test_installed_wheel_runs_outside_the_checkout(installed):
    _, site, cwd = installed
    r = _run(installed, "-c", "import sim, meshes, postprocess, sim.shipped as s; "
             "print(sim.__file__); print(meshes.__file__); print(postprocess.__file__); "
             "print(s.shipped_dir('scenarios')); print(s.shipped_dir('validation'))")
    assert r.returncode == 0, r.stderr
    for line in r.stdout.splitlines():
        assert Path(line).resolve().is_relative_to(site.resolve()), line
        assert not Path(line).resolve().is_relative_to(ROOT), line

    r = _run(installed, "-m", "sim.cli", "--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"ilizarov {PROJECT['project']['version']} (dolfinx "), r.stdout
    assert len(r.stdout.strip().splitlines()) == 1
    script = site / "bin" / "ilizarov"  # the console script pip wrote for this python
    r = subprocess.run([str(script), "--version"], cwd=cwd, env=_env(site), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith(f"ilizarov {PROJECT['project']['version']} ("), r.stderr

    # the shipped scenarios, listed and copied from the installed package
    r = _run(installed, "-m", "sim.cli", "examples")
    assert r.returncode == 0, r.stderr
    assert "scenarios/ (" in r.stdout and str(site / "sim" / "_shipped" / "scenarios") in r.stdout
    assert "standard-4ring.toml" in r.stdout and "watson2003-clamped-wire-yield.toml" in r.stdout
    r = _run(installed, "-m", "sim.cli", "examples", "--out", "examples")
    assert r.returncode == 0, r.stderr
    copied = cwd / "examples"
    assert (copied / "scenarios" / "sweeps" / "tension-rings.toml").is_file()
    assert os.access(copied / "hpc" / "sweep_array.sbatch", os.X_OK)

    standard = site / "sim" / "_shipped" / "scenarios" / "standard-4ring.toml"
    r = _run(installed, "-m", "sim.cli", "validate", str(standard))
    assert r.returncode == 0, r.stderr
    assert "standard-4ring" in r.stdout

    # the quickest shipped frame, solved into the temporary directory
    r = _run(installed, "-m", "sim.cli", "run", "examples/scenarios/two-ring.toml", "--out", "two-ring",
             "--no-picture", "--quiet")
    assert r.returncode == 0, r.stderr
    results = json.loads((cwd / "two-ring" / "results.json").read_text())
    assert results["model"] == "frame" and results["load_cases"]["axial"]["secant_stiffness_N_per_mm"] > 0
    marker = json.loads((cwd / "two-ring" / ".ilizarov-output.json").read_text())
    assert marker["ilizarov_version"] == PROJECT["project"]["version"]

    # the validation suite reads its files from the installed package
    r = _run(installed, "-m", "sim.cli", "validation-suite", "--out", "suite", "--only", "watson2003*",
             "--models", "bench", "--quiet")
    assert r.returncode == 0, r.stderr
    suite = json.loads((cwd / "suite" / "suite.json").read_text())
    assert {c["test"] for c in suite["cells"]} == {"watson2003-clamped-wire-yield"}
    assert not (ROOT / "suite").exists() and not (ROOT / "two-ring").exists()
