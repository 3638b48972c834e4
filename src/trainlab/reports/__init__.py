"""Figures and reports, made only from what a run directory holds on disk."""
