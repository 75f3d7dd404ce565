"""Reports rendered from a built DuckDB file: pictures where people would rather look than read."""
