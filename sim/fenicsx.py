"""The one place where FEniCSx is imported first.

The `dolfinx-solver-real` wheel bundles PETSc/SLEPc; its `dolfinx_solver` module must be
imported before `dolfinx` or `petsc4py` so that they find that PETSc. On a cluster with a
site dolfinx (Spack, conda-forge, a container) the module is absent and nothing is done.
Import this module (``import sim.fenicsx``) before any dolfinx import.
"""

try:  # pragma: no cover - depends on the install route
    import dolfinx_solver  # noqa: F401
except ImportError:  # a site installation of dolfinx
    pass

import dolfinx  # noqa: E402,F401
from petsc4py import PETSc  # noqa: E402,F401
