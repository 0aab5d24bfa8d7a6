"""Present: terminal tables, reports, plots and image grids (the only users of rich and matplotlib)."""
