"""The frame model's states for ParaView (issue 18): `ilizarov run` writes one PVD series
per load case and `ilizarov timeline` one per day; both are read back here with meshio
and with PyVista, and what they hold is checked against the solver's own numbers
(frame.npz, results.json, timeline.csv).
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import meshio
import numpy as np
import pytest
import pyvista as pv
from mpi4py import MPI

from meshes.tags import PartKind
from postprocess.paraview import (SECTION_FORCE_NAMES, SeriesState, load_path_times, read_series, state_grid,
                                  write_series)
from postprocess.states import SavedStates

QUICK = """name = "quick"
[loads]
axial = { force_N = 1000, steps = 5 }
bending_ap = { moment_Nm = 10, steps = 2 }
torsion = { moment_Nm = 5, steps = 2 }
"""
SHORT_TIMELINE = (Path(__file__).resolve().parent / "data" / "short-timeline.toml").read_text()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pv")
    (tmp / "quick.toml").write_text(QUICK)
    r = _cli("run", str(tmp / "quick.toml"), "--out", str(tmp / "run"), "--quiet")
    assert r.returncode == 0, r.stderr
    return tmp / "run"


def _pvd_reader(pvd: Path):
    reader = pv.get_reader(str(pvd))
    assert isinstance(reader, pv.PVDReader)
    return reader


def _series_lengths(results: dict) -> dict[str, int]:
    """Recorded states per load case: the load history's length (no load-unload cycles here)."""
    return {name: len(case.get("load_N", case.get("moment_Nm"))) for name, case in results["load_cases"].items()}


def test_run_lists_one_series_per_load_case(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    assert results["paraview"] == {name: f"paraview/{name}.pvd" for name in results["load_cases"]}
    for name, n in _series_lengths(results).items():
        reader = _pvd_reader(run_dir / results["paraview"][name])
        assert len(reader.time_values) == n  # one state per load step, step 0 the pretensioned frame
        assert reader.time_values[0] == 0.0 and reader.time_values[-1] == pytest.approx(1.0)
        with open(run_dir / "paraview" / f"{name}.csv") as f:
            rows = list(csv.DictReader(f))
        loads = results["load_cases"][name].get("load_N", results["load_cases"][name].get("moment_Nm"))
        unit = "load_N" if name == "axial" else "load_Nm"
        np.testing.assert_allclose([float(r[unit]) for r in rows], loads, rtol=1e-12)
        assert [float(r["time"]) for r in rows] == pytest.approx(reader.time_values, abs=0)


def test_displacements_and_forces_equal_the_solvers(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    states = SavedStates(run_dir / "frame.npz")
    for name in results["paraview"]:
        series = read_series(run_dir / results["paraview"][name])
        assert states.steps(name) == [f"{name}_step{k}" for k in range(len(series))]
        reader = _pvd_reader(run_dir / results["paraview"][name])
        for k, (time, vtu) in enumerate(series):
            saved = states.lines(f"{name}_step{k}")
            mesh = meshio.read(vtu)
            np.testing.assert_array_equal(mesh.points, saved["points_mm"])
            np.testing.assert_array_equal(mesh.cells_dict["line"], saved["cells"])
            np.testing.assert_array_equal(mesh.point_data["displacement_mm"], saved["displacement_mm"])
            np.testing.assert_array_equal(mesh.point_data["rotation_rad"], saved["rotation_rad"])
            np.testing.assert_array_equal(mesh.cell_data["part_tag"][0], saved["part_tag"])
            for j, field in enumerate(SECTION_FORCE_NAMES):
                np.testing.assert_array_equal(mesh.cell_data[field][0], saved["section_forces"][:, j])
            np.testing.assert_array_equal(mesh.cell_data["von_mises_MPa"][0], saved["von_mises_MPa"])
            reader.set_active_time_value(time)
            grid = reader.read()[0]
            np.testing.assert_array_equal(grid.point_data["displacement_mm"], saved["displacement_mm"])
            np.testing.assert_array_equal(grid.cell_data["axial_force_N"], saved["section_forces"][:, 0])
            assert set(np.unique(grid.cell_data["part_tag"])) == set(states.parts)
    # the end state of each case is the last step's
    for name in results["paraview"]:
        np.testing.assert_array_equal(states.lines(name)["displacement_mm"],
                                      states.lines(states.steps(name)[-1])["displacement_mm"])


def test_the_load_points_shortening_and_the_wires_tension(run_dir):
    """The axial series' bone end moves as results.json's displacement history says, and
    each wire's axial force is the tension results.json reports at every step."""
    results = json.loads((run_dir / "results.json").read_text())
    axial = results["load_cases"]["axial"]
    with open(run_dir / "paraview" / "parts.csv") as f:
        rows = list(csv.DictReader(f))
    parts = {r["name"]: (int(r["part_tag"]), r["kind"]) for r in rows}
    assert all(int(r["part_kind"]) == PartKind[r["kind"].upper()] for r in rows)
    assert {"wire", "ring", "bone"} <= {r["kind"] for r in rows}
    meshes = [meshio.read(vtu) for _, vtu in read_series(run_dir / results["paraview"]["axial"])]
    first = meshes[0]
    kind, tag = first.cell_data["part_kind"][0], first.cell_data["part_tag"][0]
    assert {PartKind.BONE, PartKind.WIRE, PartKind.RING, PartKind.ROD} <= set(kind.tolist())
    cells, points = first.cells_dict["line"], first.points
    bone_nodes = np.unique(cells[kind == PartKind.BONE])
    top = bone_nodes[np.argmax(points[bone_nodes, 2])]  # the proximal bone end, where the load acts
    uz0 = first.point_data["displacement_mm"][top, 2]
    shortening = [-(m.point_data["displacement_mm"][top, 2] - uz0) for m in meshes]
    np.testing.assert_allclose(shortening, axial["displacement_mm"], rtol=1e-12, atol=1e-12)
    assert shortening[-1] > 1.0  # the check is not trivially satisfied by zeros
    length = np.linalg.norm(points[cells[:, 1]] - points[cells[:, 0]], axis=1)
    for wire, history in axial["wire_tension_history_N"].items():
        assert parts[wire][1] == "wire"
        on_wire = tag == parts[wire][0]
        for k, m in enumerate(meshes):
            n = m.cell_data["axial_force_N"][0][on_wire]
            # a smooth wire slides through the bone and carries one tension along its length
            assert np.average(n, weights=length[on_wire]) == pytest.approx(history[k], rel=1e-3)
            assert n.min() > 0.99 * history[k] and n.max() < 1.01 * history[k]
        assert n.max() == pytest.approx(axial["wire_tension_max_N"][wire], rel=1e-12)


def test_state_grid_shows_any_saved_state(run_dir):
    states = SavedStates(run_dir / "frame.npz")
    last = states.steps("torsion")[-1]
    grid = state_grid(states, last)
    assert isinstance(grid, pv.UnstructuredGrid)
    assert grid.n_cells == len(states.lines("torsion")["cells"])
    np.testing.assert_array_equal(grid.point_data["rotation_rad"], states.lines("torsion")["rotation_rad"])
    assert set(grid.cell_data["part_kind"]) >= {PartKind.WIRE, PartKind.RING}
    warped = grid.warp_by_vector("displacement_mm")
    assert np.abs(warped.points - grid.points).max() > 0.1
    with pytest.raises(KeyError, match="state 'torsion_step99' is not saved; saved: pretension"):
        state_grid(states, "torsion_step99")


def test_series_times_must_increase(tmp_path, run_dir):
    lines = SavedStates(run_dir / "frame.npz").lines("pretension")
    with pytest.raises(ValueError,
                       match=r"series 'x': times must be strictly increasing and not empty; got \[0.0, 0.0\]"):
        write_series(tmp_path, "x", [SeriesState(0.0, lines), SeriesState(0.0, lines)])
    assert load_path_times([0.0, 0.5, 1.0, 0.5, 0.0]) == [0.0, 0.5, 1.0, 1.5, 2.0]  # a load-unload cycle
    assert load_path_times([0.0, 0.3, 0.3]) == pytest.approx([0.0, 0.3, 0.3 + 1e-9], abs=1e-15)


def test_timeline_writes_one_state_per_day(tmp_path):
    (tmp_path / "short.toml").write_text(SHORT_TIMELINE)
    out = tmp_path / "tl"
    r = _cli("timeline", str(tmp_path / "short.toml"), "--out", str(out), "--no-pictures", "--quiet")
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "timeline.json").read_text())
    assert summary["paraview"] == {"days": "paraview/days.pvd"}
    with open(out / "timeline.csv") as f:
        rows = list(csv.DictReader(f))
    reader = _pvd_reader(out / "paraview" / "days.pvd")
    assert reader.time_values == [float(r["day"]) for r in rows]
    series = read_series(out / "paraview" / "days.pvd")
    first = meshio.read(series[0][1])
    kind = first.cell_data["part_kind"][0]
    gap_nodes = np.unique(first.cells_dict["line"][kind == PartKind.REGENERATE])
    ends = gap_nodes[[np.argmin(first.points[gap_nodes, 2]), np.argmax(first.points[gap_nodes, 2])]]
    for (day, vtu), row in zip(series, rows):
        mesh = meshio.read(vtu)
        reader.set_active_time_value(day)
        grid = reader.read()[0]
        np.testing.assert_array_equal(grid.point_data["displacement_mm"], mesh.point_data["displacement_mm"])
        x = mesh.points[ends] + mesh.point_data["displacement_mm"][ends]
        # timeline.csv keeps six significant digits
        assert np.linalg.norm(x[1] - x[0]) == pytest.approx(float(row["gap_length_mm"]), rel=5e-6)
    assert float(rows[-1]["gap_length_mm"]) > float(rows[0]["gap_length_mm"]) + 1.0  # the gap did open


def _canonical(mesh: meshio.Mesh):
    """Point and cell data in an order that does not depend on the mesh's partition."""
    r = lambda a: np.round(a, 6)  # noqa: E731
    X, cells = mesh.points, mesh.cells_dict["line"]
    tag = mesh.cell_data["part_tag"][0].astype(np.int64)
    # coincident nodes (a wire and the bone where they are linked) told apart by their parts
    low, high, count = np.full(len(X), 1 << 40), np.zeros(len(X), np.int64), np.zeros(len(X), np.int64)
    for end in (0, 1):
        np.minimum.at(low, cells[:, end], tag)
        np.maximum.at(high, cells[:, end], tag)
        np.add.at(count, cells[:, end], 1)
    p_order = np.lexsort((count, high, low, *r(X).T[::-1]))
    node_key = np.empty(len(X), np.int64)
    node_key[p_order] = np.arange(len(X))
    mid = 0.5 * (X[cells[:, 0]] + X[cells[:, 1]])
    c_order = np.lexsort((*np.sort(node_key[cells], axis=1).T[::-1], *r(mid).T[::-1], tag))
    return ({"points": X[p_order], **{k: v[p_order] for k, v in mesh.point_data.items()}},
            {"midpoints": mid[c_order], **{k: v[0][c_order] for k, v in mesh.cell_data.items()}})


@pytest.mark.mpi
def test_parallel_writes_the_files_once_and_as_serial(tmp_path):
    """Under mpirun -n 2: rank 0 alone writes the series, and they hold what a serial run
    writes (up to the order of nodes and cells, which follows the partition)."""
    from sim.run import solve_frame, write_run
    from sim.scenario import parse_scenario

    comm = MPI.COMM_WORLD
    base = Path(comm.bcast(str(tmp_path) if comm.rank == 0 else None, root=0))
    moment = {"moment_Nm": 5.0, "steps": 1}
    s = parse_scenario({"loads": {"axial": {"force_N": 1000.0, "steps": 3}, "bending_ap": moment, "bending_ml": moment,
                                  "torsion": {"moment_Nm": 5.0, "steps": 2}}})
    run = solve_frame(s, comm=comm, keep_states=True)
    write_run(base / "parallel", s, run, picture=False, comm=comm)
    if comm.rank == 0:
        serial = solve_frame(s, comm=MPI.COMM_SELF, keep_states=True)
        write_run(base / "serial", s, serial, picture=False, comm=MPI.COMM_SELF)
    comm.Barrier()
    if comm.rank != 0:
        return
    par, ser = base / "parallel" / "paraview", base / "serial" / "paraview"
    listing = lambda d: sorted(str(p.relative_to(d)) for p in d.rglob("*"))  # noqa: E731
    assert listing(par) == listing(ser)
    pvds = sorted(f"{name}.pvd" for name in s.loads.cases)
    assert sorted(p.name for p in par.glob("*.pvd")) == pvds and len(pvds) == 4
    assert (par / "parts.csv").read_text() == (ser / "parts.csv").read_text()
    for pvd in pvds:
        a, b = read_series(par / pvd), read_series(ser / pvd)
        assert len({p for _, p in a}) == len(a) == len(list((par / pvd[:-4]).iterdir()))
        with open(ser / pvd.replace(".pvd", ".csv")) as f:
            events = [r["event"] for r in csv.DictReader(f)]
        assert len(a) == len(b) == len(events)
        for (ta, va), (tb, vb), event in zip(a, b, events):
            (pa, ca), (pb, cb) = _canonical(meshio.read(va)), _canonical(meshio.read(vb))
            assert pa.keys() == pb.keys() and ca.keys() == cb.keys()
            # a state where a contact closes or a part first yields is found to the solver's event
            # tolerances (sim.frame_model: EVENT_TOLERANCE 1e-7 of a step, YIELD_EVENT_TOLERANCE 1e-4
            # of the yield stress), which partitions meet at slightly different loads
            rtol = 1e-3 if event.startswith("first yield") else 1e-5 if event else 1e-7
            assert ta == pytest.approx(tb, abs=rtol), va
            for key in pa:
                np.testing.assert_allclose(pa[key], pb[key], rtol=rtol, atol=1e-9 if key == "points" else rtol * 1e-2,
                                           err_msg=f"{va}: {key}")
            for key in ca:
                scale = max(np.abs(cb[key]).max(), 1.0)
                np.testing.assert_allclose(ca[key], cb[key], rtol=rtol, atol=rtol * scale, err_msg=f"{va}: {key}")


def test_load_unload_cycles_get_a_time_of_their_own(tmp_path):
    """With cycles the load factor goes up and down; the series' time goes on growing along the
    load path, one state per recorded step, and the table keeps the load factor itself."""
    from postprocess.paraview import write_load_cases
    from sim.run import solve_frame
    from sim.scenario import parse_scenario

    one = {"moment_Nm": 2.0, "steps": 1}
    s = parse_scenario({"loads": {"axial": {"force_N": 300.0, "steps": 2, "cycles": 2}, "bending_ap": one,
                                  "bending_ml": one, "torsion": one}})
    run = solve_frame(s, keep_states=True)
    parts = {p.tag: (p.name, p.kind.name) for p in run.model.frame.parts}
    series = write_load_cases(tmp_path / "paraview", run.states, run.cases, parts)
    assert series["axial"] == "paraview/axial.pvd"
    steps = run.cases["axial"].steps
    assert len(steps) > run.cases["axial"].loading_steps + 1  # the cycles' steps are there too
    times = [t for t, _ in read_series(tmp_path / series["axial"])]
    assert times == pytest.approx(load_path_times([st.load_factor for st in steps]), abs=0)
    assert times[-1] == pytest.approx(4.0)  # up, down, up, down
    with open(tmp_path / "paraview" / "axial.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["load_factor"]) for r in rows] == pytest.approx([st.load_factor for st in steps], abs=0)
    last = meshio.read(tmp_path / "paraview" / rows[-1]["file"])
    np.testing.assert_array_equal(last.point_data["displacement_mm"], run.states["axial"]["displacement_mm"])
    grid = state_grid(run.states, "axial", parts)  # straight from the solve, without frame.npz
    np.testing.assert_array_equal(grid.point_data["displacement_mm"], run.states["axial"]["displacement_mm"])
    assert set(grid.cell_data["part_kind"]) >= {PartKind.BONE, PartKind.WIRE}
    with pytest.raises(KeyError, match="state 'axial_step99' is not saved; saved: pretension, axial_step0"):
        state_grid(run.states, "axial_step99")
