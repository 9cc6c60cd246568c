"""ilizarov: finite-element simulation of circular external fixators (Ilizarov frames,
Taylor Spatial Frames) on a bone, from Python.

    import ilizarov
    s = ilizarov.load_scenario("scenarios/standard-4ring.toml")
    r = ilizarov.run(s)
    r.axial.initial_stiffness_N_per_mm

`load_scenario` reads and validates a scenario file (`save_scenario` writes one, e.g.
after `Scenario.replace`); `run` solves it with the frame model
(or `model="continuum"`) and returns typed results (`Results`, the results.json contract:
`ilizarov.results`); `run_timeline`, `run_hexapod` and `run_sweep` do what the commands of
the same name do. See docs/api.md and the examples/ folder.
"""

from importlib.metadata import PackageNotFoundError, version

from ilizarov.api import (HexapodResults, KinematicsError, OutputDirError, Results, Scenario, ScenarioError,
                          SolverError, SweepError, SweepResults, TimelineResults, load_hexapod, load_results,
                          load_scenario, load_timeline, run, save_scenario,
                          run_hexapod, run_sweep, run_timeline)

try:
    __version__ = version("ilizarov")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "unknown"

__all__ = ["load_scenario", "save_scenario", "run", "load_results", "load_timeline", "load_hexapod", "run_timeline", "run_hexapod", "run_sweep", "Results",
           "TimelineResults", "HexapodResults", "SweepResults", "Scenario", "ScenarioError", "SolverError",
           "OutputDirError", "KinematicsError", "SweepError", "__version__"]
