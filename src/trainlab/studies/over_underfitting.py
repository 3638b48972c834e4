"""Study `over-underfitting`: polynomials of degree 1, 3 and 15 fitted to a few noisy points.

The curriculum's first picture of generalisation (Bishop, PRML section 1.1): noisy samples of
sin(pi x) on [-1, 1] (data/synthetic.py), fitted by least squares. Degree 1 underfits (training and
test error both high), degree 3 fits, degree 15 overfits: its training error falls towards zero while
its test error explodes, and its coefficients grow huge as it bends through the noise. Each seed is
a fresh training set: fresh noise at the same evenly spaced inputs (Bishop's setting, so every
test point lies between training points and no fit is judged on extrapolation); the test error is
measured on a large fresh sample, x uniform on [-1, 1].
No network is trained: every fit takes microseconds.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import registry, rundir, runs
from trainlab.data.synthetic_polynomial import polynomial_regression, true_function
from trainlab.errors import TrainlabError
from trainlab.studies.plan import Arm, StudyPlan

FIT_FILE = "fit.json"  # per run: the training points, the fitted curve on a grid, the coefficients
DEGREES = (1, 3, 15)
GRID_POINTS = 200
SETTING = {"train_examples": 20, "noise": 0.2, "test_examples": 2000}


def fit_polynomial(x: np.ndarray, y: np.ndarray, degree: int) -> np.polynomial.Polynomial:
    """Least-squares polynomial of `degree` through (x, y).

    numpy's `Polynomial.fit` maps x to [-1, 1] before solving, which keeps degree 15-20 fits
    well conditioned; `.convert()` of the result gives the coefficients of 1, x, x^2, ...
    """
    return np.polynomial.Polynomial.fit(np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64), degree)


def check_setting(config: dict[str, Any]) -> None:
    """Unknown keys and impossible sizes fail before the first fit."""
    allowed = {"degree", *SETTING}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise TrainlabError(
            f"over-underfitting: unknown setting '{unknown[0]}'; settings are {', '.join(sorted(allowed))}"
        )
    for key in ("degree", "train_examples", "test_examples"):
        if not isinstance(config[key], int) or config[key] < (0 if key == "degree" else 2):
            raise TrainlabError(f"over-underfitting: {key}={config[key]!r} must be a whole number >= 2 "
                                "(degree >= 0)")
    if not isinstance(config["noise"], int | float) or config["noise"] < 0:
        raise TrainlabError(f"over-underfitting: noise={config['noise']!r} must be a number >= 0")


def run_fit(config: dict[str, Any], seed: int, run_dir: Path) -> dict[str, Any]:
    """Fit one degree to one training set (drawn with `seed`); writes fit.json, returns the metrics."""
    generator = np.random.default_rng(seed)
    x_train = np.linspace(-1, 1, config["train_examples"])  # Bishop's evenly spaced inputs
    y_train = true_function(x_train) + config["noise"] * generator.standard_normal(config["train_examples"])
    x_test, y_test = (tensor.numpy().astype(np.float64) for tensor in polynomial_regression(
        config["test_examples"], generator, config["noise"]))
    fit = fit_polynomial(x_train, y_train, config["degree"])
    coefficients = fit.convert().coef  # of 1, x, x^2, ... on the original scale
    grid = np.linspace(-1, 1, GRID_POINTS)
    runs.write_json(run_dir / FIT_FILE, {
        "degree": config["degree"], "noise": config["noise"],
        "x_train": x_train.ravel().tolist(), "y_train": y_train.tolist(),
        "grid": grid.tolist(), "fitted": fit(grid).tolist(), "truth": true_function(grid).tolist(),
        "coefficients": coefficients.tolist(),
    })
    return {
        "test_mse": float(np.mean((fit(x_test.ravel()) - y_test) ** 2)),
        "train_mse": float(np.mean((fit(x_train.ravel()) - y_train) ** 2)),
        "largest_coefficient": float(np.max(np.abs(coefficients))),
        "coefficient_norm": float(np.linalg.norm(coefficients)),
        "params": config["degree"] + 1,
    }


@registry.studies.register("over-underfitting", "polynomials of degree 1, 3 and 15 on a noisy sine")
def over_underfitting(scale: str) -> StudyPlan:
    setting = copy.deepcopy(SETTING)
    if scale == "full":  # more seeds, not more data: the picture is about a small training set
        setting["test_examples"] = 20_000
    arms = [Arm(f"degree-{degree}", {"degree": degree, **setting}, label=f"degree {degree}")
            for degree in DEGREES]
    return StudyPlan(
        name="over-underfitting",
        question=("Fitted to 20 noisy points of sin(pi x), which polynomial degree generalises: does "
                  "a degree-1 line underfit and a degree-15 polynomial overfit (training error near "
                  "zero, test error large, huge coefficients)?"),
        data_note=(f"{setting['train_examples']} evenly spaced points of sin(pi x) on [-1, 1] + "
                   f"N(0, {setting['noise']}^2) noise, fresh noise per seed; test error on "
                   f"{setting['test_examples']:,} fresh points (synthetic, offline, no training)"),
        arms=arms,
        metrics=["test_mse", "train_mse", "largest_coefficient", "coefficient_norm"],
        seeds=10 if scale == "quick" else 50,
        comparisons=[("degree-15", "degree-3"), ("degree-1", "degree-3")],
        finding=finding,
        figures=figures,
        higher_is_better=False,
        run_arm=run_fit,
        check_arm=check_setting,
    )


def finding(summary: dict[str, Any]) -> str:
    rows = {row["arm"]: row for row in summary["rows"]}
    parts = []
    for row in rows.values():
        parts.append(f"{row['label']}: train MSE {row['train_mse']['mean']:.3g}, test MSE "
                     f"{row['test_mse']['mean']:.3g}, largest |coefficient| "
                     f"{row['largest_coefficient']['mean']:.3g}")
    best = rows[summary["best_arm"]]
    return (f"{best['label']} generalises best. " + "; ".join(parts)
            + f" (means of {summary['seeds']} training sets).")


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    from trainlab.reports import regularisation_plots as plots

    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    fits = {row["label"]: rundir.read_json(study_dir / row["arm"] / "seed-0" / FIT_FILE) for row in summary["rows"]}
    return [
        plots.plot_polynomial_fits(fits, plots_dir / "fits_vs_truth.png"),
        plots.plot_train_vs_test_error(summary, plots_dir / "train_vs_test_error.png"),
        plots.plot_coefficient_magnitudes(fits, plots_dir / "coefficients.png"),
    ]
