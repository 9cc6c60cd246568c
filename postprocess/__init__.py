"""Pure functions from solutions to numbers, and the renderers. Nothing here solves."""
