"""One gmsh model on rank 0 for the length of a `with` block (shared by the builders)."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


def _keep_python_signal_handlers(action) -> None:
    """Run `action` (gmsh.initialize / finalize), then give SIGTERM back to Python's
    handler: Gmsh's library resets it to the default, which would kill the process
    without the command line's clean-up (staging directories, locks)."""
    if threading.current_thread() is not threading.main_thread():
        action()
        return
    handler = signal.getsignal(signal.SIGTERM)
    action()
    if callable(handler):
        signal.signal(signal.SIGTERM, handler)


@contextmanager
def gmsh_model(comm, name: str):
    """Yield the gmsh module with a fresh model `name` on rank 0 (initialising gmsh if
    needed); remove the model, and finalise gmsh if it was started here, on the way out.
    Other ranks get the module too but must not touch the model."""
    import sim.fenicsx  # noqa: F401  (import order of the FEniCSx wheel)
    import gmsh

    started = False
    if comm.rank == 0:
        if not gmsh.isInitialized():
            _keep_python_signal_handlers(lambda: gmsh.initialize(interruptible=False))
            started = True
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add(name)
    try:
        yield gmsh
    finally:
        if comm.rank == 0:
            gmsh.model.remove()
            if started:
                _keep_python_signal_handlers(gmsh.finalize)
