"""Study `sentiment`: the whole text pipeline on reviews, with one change at a time around a base LSTM.

Around a base (unidirectional LSTM, random embeddings, no dropout, mean pooling) each arm changes
one thing: bidirectional; embedding and head dropout; GloVe-initialised embeddings (fine-tuned);
an embedding and LSTM pretrained as a language model on the training reviews (ULMFiT, fine-tuned:
the arm `lm-pretrain` trains that language model, the arm `lm` starts from it with the same seed);
pooling by the last token, the max or attention. Every run also scores the TF-IDF + logistic
regression baseline on the same tokens; it is the same for every arm (same data, same vocabulary),
so the summary shows it once, as a row of its own. The report adds the best arm's test confusion
matrix and its most confidently wrong test reviews.

Data: at quick scale the IMDB reviews of ../shared/data (or the trainlab cache) when they are on
this machine, cut to a few thousand short reviews; otherwise a generated review corpus
(data/synthetic_reviews.py). The GloVe arm runs only when a GloVe file is available offline
(../shared/data/glove_6B_50d_top2446), the language-model arms only when the reviews are a CSV
file (a language model reads a corpus, not the generated reviews); the data note says what ran.
"""

from __future__ import annotations

import copy
import os
import textwrap
from pathlib import Path
from typing import Any

from trainlab import registry, rundir
from trainlab.data import synthetic_reviews  # noqa: F401  (registers "synthetic-reviews")
from trainlab.data.download import resources_of
from trainlab.reports.figures import new_figure
from trainlab.studies.plan import Arm, StudyPlan

GLOVE_DIM = 50
GLOVE_FILE = Path("glove_6B_50d_top2446") / "glove.6B.50d.top2446.txt"
BASELINE_ARM = "baseline:tfidf"
CLASSIFICATION_SCORES = ("accuracy", "macro_precision", "macro_recall", "macro_f1")
REPO_ROOT = Path(__file__).resolve().parents[3]
LANGUAGE_MODEL_ARM = "lm-pretrain"
LANGUAGE_MODEL_RUN = "{study_dir}/lm-pretrain/seed-{seed}"  # the same seed's language model
# The language model reads the first 300,000 words of the training file (IMDB at quick scale: the
# first ~1,300 of its 10,000 reviews, whole) for 2 epochs, with a 10,000-word vocabulary: about a
# minute per seed on 2 cores.
LANGUAGE_MODEL_DATA = {"tokenizer": "word", "min_freq": 2, "max_vocab": 10_000, "limit": 300_000, "batch_size": 32}

# (arm name, label, model options that differ from the base, whether it needs GloVe)
ABLATIONS = (
    ("bilstm", "BiLSTM", {"bidirectional": True}, False),
    ("dropout", "dropout 0.3 (embeddings, head)", {"embedding_dropout": 0.3, "head_dropout": 0.3}, False),
    ("glove", "GloVe 50d embeddings (fine-tuned)", {}, True),
    ("pool-last", "last-token pooling", {"pooling": "last"}, False),
    ("pool-max", "max pooling", {"pooling": "max"}, False),
    ("pool-attention", "attention pooling", {"pooling": "attention"}, False),
)


def shared_data_dir() -> Path | None:
    """$TRAINLAB_SHARED_DATA, else ../shared/data beside the repository or the working directory."""
    configured = os.environ.get("TRAINLAB_SHARED_DATA")
    candidates = [Path(configured)] if configured else [REPO_ROOT.parent / "shared" / "data",
                                                         Path("..") / "shared" / "data"]
    return next((folder for folder in candidates if folder.is_dir()), None)


def glove_path() -> Path | None:
    """The 50-d GloVe vectors of ../shared/data, if this machine has them."""
    shared = shared_data_dir()
    return shared / GLOVE_FILE if shared is not None and (shared / GLOVE_FILE).is_file() else None


def imdb_csv_files() -> tuple[Path, Path] | None:
    """../shared/data/imdb/{train,test}.csv (10k / 5k reviews), if this machine has them."""
    shared = shared_data_dir()
    if shared is None:
        return None
    train, test = shared / "imdb" / "train.csv", shared / "imdb" / "test.csv"
    return (train, test) if train.is_file() and test.is_file() else None


def imdb_cached() -> bool:
    """Whether the builtin `imdb` archive was downloaded into the trainlab cache already."""
    return all(resource.path.is_file() for resource in resources_of("imdb"))


def quick_review_data() -> tuple[dict[str, Any], str]:
    """The data section of the quick scale and a note naming it: IMDB reviews on this machine (the
    CSV files of ../shared/data, else the cached builtin), cut short; else the generated corpus."""
    imdb_shape = {"limit": 2000, "max_length": 100, "min_freq": 2, "val_fraction": 0.05, "batch_size": 32}
    files = imdb_csv_files()
    if files is not None:
        data = {"source": str(files[0]), "test": str(files[1]), **imdb_shape}
        return data, (f"IMDB reviews of {files[0].parent} (offline): 2,000 training, 500 validation and 2,000 "
                      "test reviews (the first of a fixed shuffle), cut at 100 words; words seen twice or more")
    if imdb_cached():
        return {"source": "imdb", **imdb_shape}, (
            "IMDB (the builtin, from the trainlab cache): 2,000 training, 1,250 validation and 2,000 test "
            "reviews, cut at 100 words; words seen twice or more")
    data = {"source": "synthetic-reviews", "num_examples": 3000, "batch_size": 32}
    return data, ("generated reviews (data/synthetic_reviews.py, offline, no IMDB on this machine): 3,000 "
                  "reviews with negations and intensifiers, 70/10/20 split")


def quick_setting() -> tuple[dict[str, Any], str]:
    data, note = quick_review_data()
    config = {
        "task": "text-classification",
        "data": data,
        "model": {"name": "lstm", "embedding_dim": GLOVE_DIM, "hidden_size": 32, "pooling": "mean"},
        "optim": {"name": "adam", "lr": 0.005},
        "train": {"epochs": 3, "grad_clip_norm": 5.0},
    }
    return config, note + "; base: LSTM, 50-d embeddings, hidden 32, mean pooling, Adam 5e-3, 3 epochs"


def full_setting() -> tuple[dict[str, Any], str]:
    config = {
        "task": "text-classification",
        "data": {"source": "imdb", "max_length": 400, "val_fraction": 0.1, "batch_size": 64},
        "model": {"name": "lstm", "embedding_dim": GLOVE_DIM, "hidden_size": 128, "pooling": "mean"},
        "optim": {"name": "adam", "lr": 0.002},
        "train": {"epochs": 6, "grad_clip_norm": 5.0, "monitor": "val_accuracy"},
    }
    note = ("IMDB (builtin, downloaded once): 25k training reviews (10% held out for validation), the 25k "
            "test reviews, cut at 400 words; base: LSTM, 50-d embeddings, hidden 128, mean pooling, Adam 2e-3, 6 epochs, best "
            "validation epoch")
    return config, note


def language_model_arms(base: dict[str, Any]) -> tuple[list[Arm], str]:
    """ULMFiT as two arms, and a note: a word language model on the classifier's training file
    (same embedding and LSTM sizes), then the base classifier starting from it. None where the
    reviews are not a CSV file."""
    source = str(base["data"]["source"])
    if not source.endswith(".csv"):
        return [], "; the reviews are not a CSV file a language model can read: the language-model arms were left out"
    language_model = {
        "task": "language-model",
        "data": {"source": source, "text_column": "text", **LANGUAGE_MODEL_DATA},
        "model": {"name": "lstm", "embedding_dim": base["model"]["embedding_dim"],
                  "hidden_size": base["model"]["hidden_size"], "layers": 1},
        "optim": copy.deepcopy(base["optim"]),
        "train": {"epochs": 2, "grad_clip_norm": 5.0},
    }
    classifier = copy.deepcopy(base)
    classifier["model"]["pretrained_encoder"] = LANGUAGE_MODEL_RUN
    arms = [Arm(LANGUAGE_MODEL_ARM, language_model,
                label="language model for `lm` (its scores are of the next word)"),
            Arm("lm", classifier, label="LM-pretrained embedding and LSTM (ULMFiT, fine-tuned)")]
    return arms, (f"; language model: a word LSTM on the first {LANGUAGE_MODEL_DATA['limit']:,} words of the "
                  f"training file, {LANGUAGE_MODEL_DATA['max_vocab']:,}-word vocabulary, 2 epochs")


@registry.studies.register("sentiment", "LSTM vs BiLSTM, dropout, GloVe, LM pretraining, pooling; TF-IDF baseline")
def sentiment(scale: str) -> StudyPlan:
    base, note = quick_setting() if scale == "quick" else full_setting()
    glove = glove_path()
    arms = [Arm("base", copy.deepcopy(base), label="LSTM, mean pooling (base)")]
    for name, label, change, needs_glove in ABLATIONS:
        config = copy.deepcopy(base)
        config["model"].update(change)
        if needs_glove:
            if glove is None:
                continue
            config["data"]["embeddings"] = str(glove)
        arms.append(Arm(name, config, label=label))
    note += (f"; GloVe: {glove}, the 2,446 most frequent words of glove.6B.50d" if glove is not None
             else "; no GloVe file offline (../shared/data/glove_6B_50d_top2446): the GloVe arm was left out")
    pretraining, pretraining_note = language_model_arms(base)
    arms += pretraining
    note += pretraining_note
    return StudyPlan(
        name="sentiment",
        question=("On movie reviews, what does each choice of a recurrent classifier buy over a base LSTM "
                  "(reading both directions, dropout, pretrained embeddings, a pretrained language model, "
                  "how the outputs are pooled), "
                  "and does any beat TF-IDF + logistic regression?"),
        data_note=note,
        arms=arms,
        metrics=[f"test_{score}" for score in CLASSIFICATION_SCORES] + ["test_loss"]
        + [f"baseline_tfidf_{score}" for score in CLASSIFICATION_SCORES],
        seeds=2 if scale == "quick" else 3,
        comparisons=[(arm.name, "base") for arm in arms[1:] if arm.name != LANGUAGE_MODEL_ARM],
        finding=finding,
        figures=figures,
    )


def tfidf_as_row(summary: dict[str, Any]) -> dict[str, Any]:
    """Move the TF-IDF scores out of the arms' rows into a row of their own (in place; idempotent).

    Every run scores the same baseline on the same tokens, so its values are taken from the first
    arm; afterwards `summary["metrics"]` names the networks' test metrics only.
    """
    if any(row["arm"] == BASELINE_ARM for row in summary["rows"]):
        return summary
    first = summary["rows"][0]
    baseline: dict[str, Any] = {"arm": BASELINE_ARM, "label": "TF-IDF 1-2 grams + logistic regression",
                                "params": None}
    for score in CLASSIFICATION_SCORES:
        baseline[f"test_{score}"] = first.get(f"baseline_tfidf_{score}")
    for row in summary["rows"]:
        for key in [key for key in row if key.startswith("baseline_tfidf_")]:
            del row[key]
    summary["rows"].append(baseline)
    summary["metrics"] = [metric for metric in summary["metrics"] if not metric.startswith("baseline_")]
    return summary


def finding(summary: dict[str, Any]) -> str:
    """The best network against the baseline, then what each change did to accuracy."""
    tfidf_as_row(summary)
    metric = summary["headline_metric"]
    rows = {row["arm"]: row for row in summary["rows"]}
    networks = [row for row in summary["rows"]
                if row["arm"] not in (BASELINE_ARM, LANGUAGE_MODEL_ARM) and row.get(metric)]
    if not networks or rows["base"].get(metric) is None:
        return f"No {metric} to compare."
    best = max(networks, key=lambda row: row[metric]["mean"])
    summary["best_arm"] = best["arm"]
    baseline = rows[BASELINE_ARM].get(metric)
    versus = "" if baseline is None else (
        f" ({'above' if best[metric]['mean'] > baseline['mean'] else 'not above'} TF-IDF's "
        f"{baseline['mean']:.3f})")
    changes = "; ".join(
        f"{rows[c['a']]['label']} {c['difference']:+.3f}{' (significant)' if c['significant'] else ''}"
        for c in summary["comparisons"]
    )
    return (f"Best: {best['label']}, {metric} {best[metric]['mean']:.3f}{versus}; base LSTM "
            f"{rows['base'][metric]['mean']:.3f}. Changes from the base: {changes} "
            f"({summary['seeds']} seeds).")


def figures(study_dir: Path, summary: dict[str, Any]) -> list[Path]:
    """The best arm's test confusion matrix and its most confidently wrong test reviews (seed 0)."""
    from trainlab.reports.plots import plot_confusion_matrix

    tfidf_as_row(summary)
    best = next(row for row in summary["rows"] if row["arm"] == summary["best_arm"])
    run_dir = study_dir / best["arm"] / "seed-0"
    plots_dir = study_dir / rundir.PLOTS_DIR
    plots_dir.mkdir(exist_ok=True)
    written = []
    if (run_dir / rundir.CONFUSION_FILE).is_file():
        confusion = rundir.read_json(run_dir / rundir.CONFUSION_FILE)
        written.append(plot_confusion_matrix(confusion["test"], confusion["classes"],
                                             plots_dir / "confusion_matrix.png"))
    if (run_dir / rundir.CONFIDENT_MISTAKES_FILE).is_file():
        mistakes = rundir.read_json(run_dir / rundir.CONFIDENT_MISTAKES_FILE)
        written.append(plot_mistakes_table(mistakes, f"{best['label']}, seed 0",
                                           plots_dir / "confident_mistakes.png"))
    return written


def plot_mistakes_table(mistakes: dict[str, Any], title: str, path: Path, rows: int = 12,
                        text_width: int = 110) -> Path:
    """The most confidently wrong examples as a table: confidence, true and predicted label, text."""

    shown = mistakes["most_confident"][:rows]
    cells = [[f"{entry['confidence']:.3f}", entry["true_label"], entry["predicted_label"],
              textwrap.shorten(entry["text"], text_width, placeholder=" ...")] for entry in shown]
    figure, axes = new_figure(figsize=(13, 0.7 + 0.27 * (len(cells) + 1)), layout="constrained")
    axes.axis("off")
    axes.set_title(f"Most confidently wrong test examples ({title}): {mistakes['wrong']:,} wrong of "
                   f"{mistakes['examples']:,}", fontsize=10)
    if cells:
        table = axes.table(cellText=cells, colLabels=["confidence", "true", "predicted", "text"],
                           colWidths=[0.07, 0.07, 0.07, 0.79], cellLoc="left", bbox=[0, 0, 1, 1])
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        for (_, column), cell in table.get_celld().items():
            # A cell's padding is a share of its width: the wide text column needs a smaller one.
            cell.PAD = 0.01 if column == 3 else 0.08
    figure.savefig(path, dpi=100)
    return path
