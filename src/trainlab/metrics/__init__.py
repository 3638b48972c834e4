"""Metrics: pure functions over tensors."""
