"""trainlab's benchmarks. `python -m benchmarks` runs the comparison suite (benchmarks/suite/);
the scripts beside it measure one thing each. Figures and commands: benchmarks/README.md."""
