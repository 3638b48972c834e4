"""Study `bias-variance`: the expected test error split into bias^2, variance and noise.

For one model class (a polynomial of degree d, or a one-hidden-layer MLP of width w) the study
refits the model on many training sets drawn afresh from the same process, y = f(x) + noise, and
predicts a fixed set of test points with each fit. At every test point x:

    E[(y - fit(x))^2] = (E fit(x) - f(x))^2  +  Var fit(x)  +  noise^2
                         bias^2                  variance      noise

averaged over the test points. The training inputs are a fixed, evenly spaced design over [-1, 1]
(ends included) and only the noise is drawn afresh, the classical setting of Hastie et al. (ESL,
section 7.3): test points, uniform on [-1, 1], are then always inside the data, so the variance
measures sensitivity to the noise rather than wild extrapolation past the outermost training point
(with random x, a degree-15 fit's test error is dominated by the few test points beyond it).
The estimators are unbiased: with T fits, the squared gap between
their mean and f(x) overstates bias^2 by Var/T, which is subtracted; the variance uses T - 1. The
noise is estimated from the data, not read from the setting: every test point is observed
`repeats` times, and the noise is the mean of those observations' sample variances. The expected
test error itself is measured against those noisy observations, so the decomposition can be
checked against it (they agree up to sampling error). The optimal complexity is the one with the
lowest validation error: each fit is also scored on a held-out validation sample, as one would
choose without knowing f.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainlab import registry, rundir, runs
from trainlab.data.synthetic_polynomial import polynomial_regression, true_function
from trainlab.errors import TrainlabError
from trainlab.studies.over_underfitting import fit_polynomial
from trainlab.studies.plan import Arm, StudyPlan

Fitter = Callable[[np.ndarray, np.ndarray, np.random.Generator], Callable[[np.ndarray], np.ndarray]]
FITS_FILE = "fits.json"  # per run: a few fitted curves and their mean on a grid, for the figures
CURVES_KEPT = 12
GRID_POINTS = 200

QUICK_DEGREES = tuple(range(1, 21))
QUICK_WIDTHS = (1, 2, 4, 8, 16, 32)
SETTING = {"train_examples": 30, "noise": 0.3, "training_sets": 200, "test_points": 200,
           "repeats": 10, "val_examples": 200}
MLP_TRAINING_SETS = 20  # an MLP fit costs up to a second, a polynomial microseconds


@dataclass(frozen=True)
class Decomposition:
    """Expected squared error of one model class at the test points, and its parts."""

    bias_squared: float
    variance: float
    noise: float  # estimated from repeated observations of the test points
    test_mse: float  # measured: mean squared error against those noisy observations
    val_mse: float  # mean over fits of the error on a held-out validation sample
    train_mse: float  # mean over fits of the error on their own training set

    @property
    def total(self) -> float:
        return self.bias_squared + self.variance + self.noise


def decompose(
    fitter: Fitter,
    seed: int,
    train_examples: int = 30,
    noise: float = 0.3,
    training_sets: int = 200,
    test_points: int = 200,
    repeats: int = 10,
    val_examples: int = 200,
    function: Callable[[np.ndarray], np.ndarray] = true_function,
    keep_curves: int = 0,
) -> tuple[Decomposition, dict[str, Any]]:
    """Bias^2, variance and noise of `fitter` by refitting on `training_sets` fresh training sets
    (the same `train_examples` evenly spaced inputs, fresh noise each time).

    Args:
        fitter: `(x (n,), y (n,), generator) -> predict`, where `predict(x (m,))` returns (m,).
        function: the generating function f; data are f(x) + noise * N(0, 1); test and validation
            inputs are uniform on [-1, 1].
        keep_curves: also return this many fitted curves (and the mean of all) on a grid.
    Returns:
        the decomposition, and {"grid", "curves", "mean_curve", "truth"} (empty without keep_curves).
    """
    if training_sets < 2 or repeats < 2:
        raise ValueError(f"need training_sets >= 2 and repeats >= 2 (got {training_sets}, {repeats})")
    generator = np.random.default_rng(seed)
    x_test = generator.uniform(-1, 1, test_points)
    observed = function(x_test)[:, None] + noise * generator.standard_normal((test_points, repeats))
    x_val, y_val = _draw(generator, val_examples, noise, function)
    grid = np.linspace(-1, 1, GRID_POINTS)
    predictions = np.empty((training_sets, test_points))
    val_errors, train_errors, curves = [], [], []
    grid_sum = np.zeros(GRID_POINTS)
    x_train = np.linspace(-1, 1, train_examples)  # the fixed design
    for index in range(training_sets):
        y_train = function(x_train) + noise * generator.standard_normal(train_examples)
        predict = fitter(x_train, y_train, generator)
        predictions[index] = predict(x_test)
        val_errors.append(np.mean((predict(x_val) - y_val) ** 2))
        train_errors.append(np.mean((predict(x_train) - y_train) ** 2))
        if keep_curves:
            on_grid = predict(grid)
            grid_sum += on_grid
            if index < keep_curves:
                curves.append(on_grid.tolist())
    variance_per_point = predictions.var(axis=0, ddof=1)
    gap = predictions.mean(axis=0) - function(x_test)
    decomposition = Decomposition(
        # E[(mean of T fits - f)^2] = bias^2 + Var / T: the excess is removed.
        bias_squared=float(np.mean(gap**2 - variance_per_point / training_sets)),
        variance=float(np.mean(variance_per_point)),
        noise=float(np.mean(observed.var(axis=1, ddof=1))),
        test_mse=float(np.mean((observed[None, :, :] - predictions[:, :, None]) ** 2)),
        val_mse=float(np.mean(val_errors)),
        train_mse=float(np.mean(train_errors)),
    )
    extra = {}
    if keep_curves:
        extra = {"grid": grid.tolist(), "curves": curves, "mean_curve": (grid_sum / training_sets).tolist(),
                 "truth": function(grid).tolist()}
    return decomposition, extra


def _draw(generator: np.random.Generator, count: int, noise: float,
          function: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if function is true_function:  # the same process as the `polynomial` dataset
        x, y = polynomial_regression(count, generator, noise)
        return x.numpy().ravel().astype(np.float64), y.numpy().astype(np.float64)
    x = generator.uniform(-1, 1, count)
    return x, function(x) + noise * generator.standard_normal(count)


def polynomial_fitter(degree: int) -> Fitter:
    def fit(x: np.ndarray, y: np.ndarray, generator: np.random.Generator) -> Callable:
        return fit_polynomial(x, y, degree)

    return fit


def mlp_fitter(width: int, max_iter: int = 500) -> Fitter:
    """A tanh MLP with one hidden layer of `width` units, fitted by L-BFGS (scikit-learn), with a
    negligible L2 penalty so that capacity, not regularisation, sets the fit. Each fit starts from
    its own random initialisation, part of the variance the study measures."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    def fit(x: np.ndarray, y: np.ndarray, generator: np.random.Generator) -> Callable:
        model = MLPRegressor(hidden_layer_sizes=(width,), activation="tanh", solver="lbfgs", alpha=1e-6, max_iter=max_iter,
                             random_state=int(generator.integers(2**31)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # the iteration cap is part of the model
            model.fit(x[:, None], y)
        return lambda points: model.predict(np.asarray(points)[:, None])

    return fit


def check_setting(config: dict[str, Any]) -> None:
    allowed = {"model", "complexity", *SETTING}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise TrainlabError(
            f"bias-variance: unknown setting '{unknown[0]}'; settings are {', '.join(sorted(allowed))}"
        )
    for key in ("complexity", "train_examples", "training_sets", "test_points", "repeats", "val_examples"):
        smallest = 1 if key == "complexity" else 2
        if not isinstance(config[key], int) or config[key] < smallest:
            raise TrainlabError(f"bias-variance: {key}={config[key]!r} must be a whole number >= {smallest}")
    if not isinstance(config["noise"], int | float) or config["noise"] <= 0:
        raise TrainlabError(f"bias-variance: noise={config['noise']!r} must be a number > 0")


def run_decomposition(config: dict[str, Any], seed: int, run_dir: Path) -> dict[str, Any]:
    """One complexity, one seed: writes fits.json and returns the decomposition as metrics."""
    is_polynomial = config["model"] == "polynomial"
    fitter = polynomial_fitter(config["complexity"]) if is_polynomial else mlp_fitter(config["complexity"])
    settings = {key: config[key] for key in SETTING}
    decomposition, curves = decompose(fitter, seed, **settings, keep_curves=CURVES_KEPT)
    runs.write_json(run_dir / FITS_FILE, {"model": config["model"], "complexity": config["complexity"],
                                          "noise": config["noise"], **curves})
    params = config["complexity"] + 1 if is_polynomial else 3 * config["complexity"] + 1
    return {**asdict(decomposition), "decomposition_sum": decomposition.total, "params": params,
            "true_noise": config["noise"] ** 2}


def arm_name(model: str, complexity: int) -> str:
    return f"{'degree' if model == 'polynomial' else 'mlp-width'}-{complexity}"


@registry.studies.register("bias-variance", "bias^2, variance and noise against polynomial degree and MLP width")
def bias_variance(scale: str) -> StudyPlan:
    setting = copy.deepcopy(SETTING)
    if scale == "full":
        setting.update(training_sets=1000, test_points=500)
    widths = QUICK_WIDTHS if scale == "quick" else (1, 2, 3, 4, 6, 8, 16, 32, 64, 128)
    arms = [Arm(arm_name("polynomial", degree), {"model": "polynomial", "complexity": degree, **setting},
                label=f"polynomial degree {degree}") for degree in QUICK_DEGREES]
    mlp_setting = {**setting, "training_sets": MLP_TRAINING_SETS if scale == "quick" else 200}
    arms += [Arm(arm_name("mlp", width), {"model": "mlp", "complexity": width, **mlp_setting},
                 label=f"MLP width {width}") for width in widths]
    return StudyPlan(
        name="bias-variance",
        question=("As a model grows more flexible, how does its expected test error split into bias^2, "
                  "variance and noise, and which complexity does validation error pick?"),
        data_note=(f"training sets of {setting['train_examples']} points of sin(pi x) + "
                   f"N(0, {setting['noise']}^2) noise (synthetic, offline); each run refits "
                   f"{setting['training_sets']} fresh training sets ({mlp_setting['training_sets']} for the "
                   f"MLPs) and predicts {setting['test_points']} test points observed {setting['repeats']} "
                   "times each"),
        arms=arms,
        metrics=["val_mse", "test_mse", "bias_squared", "variance", "noise", "decomposition_sum",
                 "train_mse", "true_noise"],
        seeds=3 if scale == "quick" else 5,
        finding=finding,
        figures=figures,
        higher_is_better=False,
        run_arm=run_decomposition,
        check_arm=check_setting,
    )


def family_rows(summary: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """The rows of one model family, in order of complexity."""
    rows = [row for row in summary["rows"] if row["arm"].startswith(prefix)]
    return sorted(rows, key=lambda row: int(row["arm"].rsplit("-", 1)[1]))


def _lowest(rows: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    return min(rows, key=lambda row: row[metric]["mean"])


def finding(summary: dict[str, Any]) -> str:
    parts = []
    for prefix, name in (("degree-", "polynomial degree"), ("mlp-width-", "MLP width")):
        rows = family_rows(summary, prefix)
        if not rows:
            continue
        chosen, ideal = _lowest(rows, "val_mse"), _lowest(rows, "test_mse")
        complexity = chosen["arm"].rsplit("-", 1)[1]
        agreement = ("the same as the lowest expected test error" if chosen is ideal
                     else f"the lowest expected test error is at {ideal['arm'].rsplit('-', 1)[1]}")
        parts.append(f"validation error picks {name} {complexity} ({agreement}; bias^2 "
                     f"{chosen['bias_squared']['mean']:.3g}, variance {chosen['variance']['mean']:.3g})")
    noise = [row["noise"]["mean"] for row in summary["rows"]]
    true_noise = summary["rows"][0]["true_noise"]["mean"]
    text = "; ".join(parts)
    return (text[:1].upper() + text[1:]
            + f". The estimated noise variance is {np.mean(noise):.4g} (true {true_noise:.4g}).")


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    from trainlab.reports import regularisation_plots as plots

    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    written = []
    for prefix, axis_label, name in (("degree-", "polynomial degree", "polynomial"),
                                     ("mlp-width-", "hidden units (MLP width)", "mlp")):
        rows = family_rows(summary, prefix)
        if not rows:
            continue
        written.append(plots.plot_bias_variance_curve(rows, axis_label, summary["seeds"],
                                                      plots_dir / f"u_curve_{name}.png"))
        chosen = _lowest(rows, "val_mse")
        shown = list({row["arm"]: row for row in (rows[0], chosen, rows[-1])}.values())
        fits = {row["label"]: rundir.read_json(study_dir / row["arm"] / "seed-0" / FITS_FILE) for row in shown}
        written.append(plots.plot_resampled_fits(fits, plots_dir / f"fits_{name}.png"))
    return written
