"""Bundled specs: networks/ and papers/ (installed as the package costcalc.specs)."""
