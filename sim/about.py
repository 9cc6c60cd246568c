"""What is installed: the tool's version and those of the libraries it solves with.

The version has one source, `project.version` in pyproject.toml; an installed tool reads
it from its distribution's metadata (importlib.metadata), so `ilizarov --version`, the
output markers (sim.outdir) and a wheel's file name always agree.

    tool_version()   -> "0.1.0" ("unknown" when the code runs without being installed)
    versions()       -> {"ilizarov": ..., "dolfinx": ..., "petsc": ..., "gmsh": ..., "python": ...}
    version_text()   -> one line for `ilizarov --version`
"""

from __future__ import annotations

import platform

DISTRIBUTION = "ilizarov"
NOT_INSTALLED = "unknown"


def tool_version() -> str:
    """The version of the installed distribution `ilizarov` (pyproject.toml's
    project.version), or "unknown" when the packages are imported without it (a checkout
    on PYTHONPATH that was never installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return NOT_INSTALLED


def _dolfinx() -> tuple[str, str]:
    """dolfinx's and PETSc's versions as imported (a wheel's or a site installation's), or
    why they cannot be imported."""
    try:
        import sim.fenicsx  # noqa: F401  (FEniCSx import order)
        import dolfinx
    except Exception as exc:  # noqa: BLE001 - reported, not raised: --version must work without FEniCSx
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"not importable ({why}; install the fenicsx extra or a site dolfinx)", "-"
    try:
        from petsc4py import PETSc

        petsc = ".".join(str(v) for v in PETSc.Sys.getVersion())
    except Exception:  # noqa: BLE001
        petsc = "unknown"
    return str(dolfinx.__version__), petsc


def _gmsh() -> str:
    try:
        import gmsh
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"not importable ({type(exc).__name__})"
    return str(getattr(gmsh, "__version__", "unknown"))


def versions() -> dict[str, str]:
    """The versions of ilizarov, dolfinx, PETSc, gmsh and Python (a library that cannot be
    imported says so instead of a version; nothing is raised)."""
    dolfinx, petsc = _dolfinx()
    return {"ilizarov": tool_version(), "dolfinx": dolfinx, "petsc": petsc, "gmsh": _gmsh(),
            "python": platform.python_version()}


def version_text() -> str:
    """One line: `ilizarov 0.1.0 (dolfinx 0.11.0, PETSc 3.24.0, gmsh 4.14.0, Python 3.13.0)`."""
    v = versions()
    petsc = f", PETSc {v['petsc']}" if v["petsc"] != "-" else ""
    return f"ilizarov {v['ilizarov']} (dolfinx {v['dolfinx']}{petsc}, gmsh {v['gmsh']}, Python {v['python']})"
