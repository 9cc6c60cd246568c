"""Scenario schema, materials, FEniCSx solvers and the command line of the toolkit."""
