"""Bundled specs: networks/, hardware/ and papers/ (installed as the package costcalc.specs)."""
