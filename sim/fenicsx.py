"""The one place where FEniCSx is imported first.

The `dolfinx-solver-real` wheel bundles PETSc/SLEPc; its `dolfinx_solver` module must be
imported before `dolfinx` or `petsc4py` so that they find that PETSc. On a cluster with a
site dolfinx (Spack, conda-forge, a container) the module is absent and nothing is done.
Import this module (``import sim.fenicsx``) before any dolfinx import.
"""

import signal
import threading

# PETSc installs a handler for SIGPIPE when it starts, which prints "Caught signal number 13
# Broken Pipe" and calls MPI_Abort when a script's output is piped into `head`; Python itself
# ignores SIGPIPE and raises BrokenPipeError, which scripts and the command line handle. The
# interpreter's own disposition is put back after PETSc has started.
_MAIN = threading.current_thread() is threading.main_thread()
_SIGPIPE = signal.getsignal(signal.SIGPIPE) if _MAIN and hasattr(signal, "SIGPIPE") else None

try:  # pragma: no cover - depends on the install route
    import dolfinx_solver  # noqa: F401
except ImportError:  # a site installation of dolfinx
    pass

import dolfinx  # noqa: E402,F401
from petsc4py import PETSc  # noqa: E402,F401

if _SIGPIPE is not None:
    signal.signal(signal.SIGPIPE, _SIGPIPE)

import dolfinx.jit  # noqa: E402

# A form being compiled by another process (another rank or group of a sweep, another job
# sharing the cache) is waited for up to this long: dolfinx's default of 10 s is shorter
# than the frame model's forms take to compile on a busy node, and the waiting process then
# fails with "JIT compilation timed out".
JIT_TIMEOUT_S = 900
dolfinx.jit.DOLFINX_DEFAULT_JIT_OPTIONS["timeout"] = (JIT_TIMEOUT_S,
                                                      dolfinx.jit.DOLFINX_DEFAULT_JIT_OPTIONS["timeout"][1])
