import gc

import pytest

import sim.fenicsx  # noqa: F401  (FEniCSx import order)
from mpi4py import MPI


@pytest.fixture(autouse=True)
def _collective_cleanup():
    """PETSc/dolfinx destructors are collective: collect and synchronise after each test."""
    yield
    gc.collect()
    MPI.COMM_WORLD.Barrier()


def pytest_collection_modifyitems(config, items):
    if MPI.COMM_WORLD.size > 1:
        skip = pytest.mark.skip(reason="serial-only test (run without mpirun)")
        for item in items:
            if "mpi" not in item.keywords:
                item.add_marker(skip)
