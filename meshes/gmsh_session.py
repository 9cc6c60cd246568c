"""One gmsh model on rank 0 for the length of a `with` block (shared by the builders)."""

from __future__ import annotations

from contextlib import contextmanager


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
            gmsh.initialize(interruptible=False)
            started = True
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add(name)
    try:
        yield gmsh
    finally:
        if comm.rank == 0:
            gmsh.model.remove()
            if started:
                gmsh.finalize()
