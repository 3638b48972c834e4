"""Every `trainlab ... --help` ends with an example of that very command."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from trainlab.cli import build_parser


def every_parser(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """('train',), ('data',), ('data', 'fetch'), ...: the words that reach each sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                yield (*words, name)
                yield from every_parser(subparser, (*words, name))


def parser_for(words: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for word in words:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    return parser


COMMANDS = list(every_parser(build_parser()))


def test_the_walk_finds_the_nested_commands():
    assert {("train",), ("data",), ("data", "fetch"), ("data", "show")} <= set(COMMANDS)


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_help_has_an_example_of_the_command(words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parser_for(words).parse_args(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert re.search(r"^examples?:$", help_text, re.MULTILINE), f"trainlab {' '.join(words)} --help has no example"
    command = "trainlab " + " ".join(words)
    assert re.search(rf"^  {re.escape(command)}\b", help_text, re.MULTILINE), (
        f"the example of `{command} --help` does not run `{command}`"
    )
