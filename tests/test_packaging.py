"""The tool installs as a normal wheel and runs outside the checkout (issue 18, item 5).

A copy of the sources (only what pyproject.toml packages, so a file the wheel forgets is
missed here too) is built into a wheel with pip, and the wheel is installed with pip into
a bare virtual environment (no pip, no editable install of this checkout) whose only
other entries are a .pth naming this project's .venv site-packages, for dolfinx, gmsh and
the other dependencies, and links to the .venv's lib/ (the mpich wheel's libmpi). The commands run from a directory outside the checkout. The
project's .venv python itself is not used to run them: its editable finder would supply
any module the wheel forgot (a missing subpackage) from the checkout, unnoticed.
Everything the installed tool reads at run time must come from the installed package:
its modules, the shipped scenarios and validation files, the version.
"""

import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from sim.about import tool_version, version_text
from sim.shipped import KINDS, PATTERNS, ShippedFilesMissing, describe, shipped_dir, shipped_files

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "ilizarov", "sim", "meshes", "postprocess", "scenarios", "validation", "hpc",
           "examples", "schemas")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "ILIZAROV", "VIRTUAL_ENV"))}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, env, cwd): the wheel, the virtual environment it is installed in, and an
    empty directory outside the checkout to run in."""
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
    env = base / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    python = env / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    deps = [sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()]
    (Path(purelib) / "ilizarov-test-deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    for lib in (Path(sys.prefix) / "lib").iterdir():  # the mpich wheel's libmpi, found by mpi4py under sys.prefix
        if not lib.name.startswith("python") and not (env / "lib" / lib.name).exists():
            (env / "lib" / lib.name).symlink_to(lib)
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                        str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    cwd = base / "elsewhere"
    cwd.mkdir()
    return wheel, env, cwd


def _run(installed, *args, timeout=300):
    _, env, cwd = installed
    return subprocess.run([str(env / "bin" / "python"), *args], cwd=cwd, env=_env(), capture_output=True, text=True,
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


def test_every_subpackage_and_data_file_is_packaged():
    """pyproject.toml lists its packages one by one: a new subpackage or data file left out
    of it would be missing from the wheel (and only from the wheel)."""
    import fnmatch

    setup = PROJECT["tool"]["setuptools"]
    for top in ("sim", "meshes", "postprocess"):
        for d in (ROOT / top, *sorted((ROOT / top).rglob("*"))):
            if not d.is_dir() or d.name == "__pycache__" or d.name.startswith("."):
                continue
            name = ".".join(d.relative_to(ROOT).parts)
            files = [f.name for f in d.iterdir() if f.is_file() and not f.name.endswith((".pyc", "~"))]
            if not files:
                continue
            assert name in setup["packages"], f"{name} is not in pyproject.toml's packages"
            data = [f for f in files if not f.endswith(".py")]
            patterns = setup["package-data"].get(name, [])
            missed = [f for f in data if not any(fnmatch.fnmatch(f, p) for p in patterns)]
            assert not missed, f"{name}: {missed} are not in pyproject.toml's package-data"


def test_unknown_or_missing_shipped_files_are_named(monkeypatch, tmp_path):
    import sim.shipped as shipped

    with pytest.raises(ValueError, match="shipped file kind 'meshes'; accepted: scenarios, validation, hpc, examples, schemas"):
        shipped_dir("meshes")
    monkeypatch.setattr(shipped, "PACKAGE_DIR", tmp_path / "sim")
    (tmp_path / "validation").mkdir()  # site-packages/validation of another distribution: not ours
    with pytest.raises(ShippedFilesMissing, match=r"the shipped validation are missing: neither .*_shipped/validation "
                                                  r"\(an installed wheel\) nor .*validation \(a source checkout, "
                                                  r"beside its pyproject.toml\)"):
        shipped_dir("validation")
    (tmp_path / "pyproject.toml").write_text("")
    assert shipped_dir("validation") == tmp_path / "validation"
    (tmp_path / "sim" / "_shipped" / "validation").mkdir(parents=True)
    assert shipped_dir("validation") == tmp_path / "sim" / "_shipped" / "validation"


def test_version_option_prints_one_line_and_exits_0(capsys):
    from sim.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ilizarov {PROJECT['project']['version']} (dolfinx ") and out.count("\n") == 1, out


def test_examples_lists_and_copies_the_shipped_files(capsys, tmp_path):
    from sim.cli import main

    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    assert f"scenarios/ ({len(shipped_files('scenarios'))} files, in {shipped_dir('scenarios')})" in out
    assert "  standard-4ring.toml" in out and "Four-ring Ilizarov frame" in out
    assert "  sweeps/tension-rings.toml" in out and "  sweep_array.sbatch" in out
    assert "Henderson et al. 2017: the Ilizarov frame alone, four rings" in out

    dest = tmp_path / "mine"
    assert main(["examples", "--out", str(dest)]) == 0
    assert f"Wrote {sum(len(shipped_files(k)) for k in KINDS)} files into {dest}" in capsys.readouterr().out
    for kind in KINDS:
        for rel in shipped_files(kind):
            assert (dest / kind / rel).read_bytes() == (shipped_dir(kind) / rel).read_bytes()
    # a scenario the user has edited is never replaced: exit 2, naming it
    (dest / "scenarios" / "two-ring.toml").write_text("# mine\n")
    assert main(["examples", "--out", str(dest)]) == 2
    err = capsys.readouterr().err
    assert "scenarios/two-ring.toml (changed since ilizarov wrote it)" in err, err
    assert (dest / "scenarios" / "two-ring.toml").read_text() == "# mine\n"


def test_a_missing_scenario_with_a_shipped_name_says_where_the_shipped_one_is(capsys, tmp_path):
    """A README command typed outside a checkout (scenarios/standard-4ring.toml is not
    there): exit 2, and the message names the installed copy."""
    from sim.cli import main

    assert main(["validate", str(tmp_path / "scenarios" / "standard-4ring.toml")]) == 2
    err = capsys.readouterr().err
    assert (f"standard-4ring.toml: no such scenario file; a shipped scenario of that name is "
            f"{shipped_dir('scenarios') / 'standard-4ring.toml'} (`ilizarov examples --out DIR` copies") in err, err
    assert main(["validate", str(tmp_path / "mine.toml")]) == 2
    assert "shipped" not in capsys.readouterr().err


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
    _, env, cwd = installed
    # every module of the three packages imports, from the installed package only
    r = _run(installed, "-c", "import sim.fenicsx, importlib, pkgutil, sys\n"
             "for top in ('ilizarov', 'sim', 'meshes', 'postprocess'):\n"
             "    pkg = importlib.import_module(top)\n"
             "    for m in pkgutil.walk_packages(pkg.__path__, top + '.'):\n"
             "        importlib.import_module(m.name)\n"
             "import sim.shipped as s\n"
             "mods = [m.__file__ for n, m in sys.modules.items() if n.split('.')[0] in ('ilizarov', 'sim', 'meshes', 'postprocess')]\n"
             "print('\\n'.join(mods + [str(s.shipped_dir(k)) for k in s.KINDS]))")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) > 40 and any(line.endswith("sim/elements/__init__.py") for line in lines), lines
    for line in lines:
        assert Path(line).resolve().is_relative_to(env.resolve()), line
        assert not Path(line).resolve().is_relative_to(ROOT), line

    r = _run(installed, "-m", "sim.cli", "--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"ilizarov {PROJECT['project']['version']} (dolfinx "), r.stdout
    assert len(r.stdout.strip().splitlines()) == 1
    script = env / "bin" / "ilizarov"  # the console script pip wrote for this environment
    r = subprocess.run([str(script), "--version"], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith(f"ilizarov {PROJECT['project']['version']} ("), r.stderr

    # the shipped scenarios, listed and copied from the installed package
    r = _run(installed, "-m", "sim.cli", "examples")
    assert r.returncode == 0, r.stderr
    shipped = Path(sysconfig.get_path("purelib", vars={"base": str(env)})) / "sim" / "_shipped"
    assert "scenarios/ (" in r.stdout and str(shipped / "scenarios") in r.stdout
    assert "standard-4ring.toml" in r.stdout and "watson2003-clamped-wire-yield.toml" in r.stdout
    r = _run(installed, "-m", "sim.cli", "examples", "--out", "examples")
    assert r.returncode == 0, r.stderr
    copied = cwd / "examples"
    assert (copied / "scenarios" / "sweeps" / "tension-rings.toml").is_file()
    assert os.access(copied / "hpc" / "sweep_array.sbatch", os.X_OK)

    standard = shipped / "scenarios" / "standard-4ring.toml"
    r = _run(installed, "-m", "sim.cli", "validate", str(standard))
    assert r.returncode == 0, r.stderr
    assert "standard-4ring" in r.stdout
    for variant in (shipped / "scenarios" / "crossing-60.toml", copied / "scenarios" / "crossing-60.toml"):
        r = _run(installed, "-m", "sim.cli", "validate", str(variant))  # extends = "standard-4ring.toml" beside it
        assert r.returncode == 0, r.stderr
        assert "extends standard-4ring.toml" in r.stdout

    # the quickest shipped frame, solved into the temporary directory
    r = _run(installed, "-m", "sim.cli", "run", "examples/scenarios/two-ring.toml", "--out", "two-ring",
             "--no-picture", "--quiet")
    assert r.returncode == 0, r.stderr
    results = json.loads((cwd / "two-ring" / "results.json").read_text())
    assert results["model"] == "frame" and results["load_cases"]["axial"]["secant_stiffness_N_per_mm"] > 0
    marker = json.loads((cwd / "two-ring" / ".ilizarov-output.json").read_text())
    assert marker["ilizarov_version"] == PROJECT["project"]["version"]
    # the Python API reads the same run back, typed, and the hexapod example runs as shipped
    r = _run(installed, "-c", "import ilizarov\n"
             "r = ilizarov.load_results('two-ring')\n"
             "print(ilizarov.__version__, r.axial.secant_stiffness_N_per_mm, len(r.state_names))")
    assert r.returncode == 0, r.stderr
    version, secant, n_states = r.stdout.split()
    assert version == PROJECT["project"]["version"] and int(n_states) > 3
    assert float(secant) == results["load_cases"]["axial"]["secant_stiffness_N_per_mm"]
    r = _run(installed, "examples/examples/hexapod_correction.py")
    assert r.returncode == 0, r.stderr
    assert "residual at the end: 0 deg, 0 mm" in r.stdout

    # the validation suite reads its files from the installed package
    r = _run(installed, "-m", "sim.cli", "validation-suite", "--out", "suite", "--only", "watson2003*",
             "--models", "bench", "--quiet")
    assert r.returncode == 0, r.stderr
    suite = json.loads((cwd / "suite" / "suite.json").read_text())
    assert {c["test"] for c in suite["cells"]} == {"watson2003-clamped-wire-yield"}
    assert not (ROOT / "suite").exists() and not (ROOT / "two-ring").exists()
