"""Parametric gmsh builders: a scenario in, a tagged mesh out. Nothing here solves."""
