"""The transfer domain: imports and exports of the other domains' objects,
row by row through their batch services (DESIGN.md "Layout": transfer → the
domains it moves)."""
