"""The OpenSees cross-check's network export (benchmarks/crosscheck_opensees.py), without
OpenSees: the exported network is the frame model's, node for node, and the script
refuses clearly when OpenSeesPy is missing."""

import dataclasses
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("crosscheck_opensees", ROOT / "benchmarks" / "crosscheck_opensees.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("spec", ["scenarios/hybrid-halfpins.toml", "standard-olive"])
def test_exported_network_is_the_frame_models_node_for_node(spec):
    from mpi4py import MPI

    from meshes.frame_network import build_frame
    from sim.frame_model import FrameModel

    cc = _script()
    s = cc.make_scenario(spec if spec.startswith("standard") else str(ROOT / spec), 14.0, 2)
    model = FrameModel(s, build_frame(s, MPI.COMM_SELF))
    net = cc.export_network(s, {w.name: 0.0 for w in s.wires}, 1000.0, 10.0)
    assert cc.check_against_model(net, model) == []
    kinds = {e["kind"] for e in net["elements"]}
    assert kinds == {"beam", "wire", "rigid_link"} if spec == "standard-olive" else \
        {"beam", "wire", "rigid_link", "released_link"}

    # a different section, or a ring arc cut into other cells, is found
    ring = next(e for e in net["elements"] if e["part"] == "ring1")
    ring["section"] = dict(ring["section"], I1_mm4=2 * ring["section"]["I1_mm4"])
    assert any("ring1: section" in p for p in cc.check_against_model(net, model))
    coarse = dataclasses.replace(s, mesh=dataclasses.replace(s.mesh, element_size_mm=10.0))
    problems = cc.check_against_model(cc.export_network(coarse, {w.name: 0.0 for w in s.wires}, 1000.0, 10.0), model)
    assert any("is not a cell of the mesh" in p or "matches 0 nodes" in p for p in problems)


def test_missing_openseespy_exits_2_with_instructions(tmp_path):
    python = sys.executable
    if subprocess.run([python, "-c", "import openseespy.opensees"], capture_output=True).returncode == 0:
        pytest.skip("openseespy is installed in the test interpreter")
    proc = subprocess.run([python, str(ROOT / "benchmarks" / "crosscheck_opensees.py"), "standard",
                           "--opensees-python", python], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert "OpenSeesPy is not available" in proc.stderr
    assert "pip install openseespy" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_bad_option_exits_2():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "crosscheck_opensees.py"), "--steps", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "--steps 0; accepted: a whole number >= 1" in proc.stderr
