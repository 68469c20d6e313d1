"""The code in README.md and docs/*.md runs, and the tables say what the code does.

Every fenced ```python and ```bash block of README.md and docs/*.md is a test:

- a **python** block is executed (``exec``, ``__name__ == "__main__"``) in a
  fresh namespace, in a scratch folder of its page;
- a **bash** block is run command by command (``&&`` chains included) through
  ``subprocess`` with bash, in the same scratch folder. Every ``sklearn-ser``
  command of a bash block, run or not, must also parse (``--help`` style
  errors are usage errors, exit code 2).

What the page's author controls, on the line before the opening fence:

- ``<!-- not run: REASON -->``: the block is not run (a GPU, a cluster, a
  benchmark, the test suite itself); the test is skipped with REASON.

What the test provides or changes, so that the whole file runs in well under
a minute on one core:

- the scratch folder holds ``my_wavs/<label>/*.wav`` (synthetic speech, 4
  emotions, 6 files each), ``clips/`` (3 files), and ``a.wav``, ``b.wav``,
  ``file.wav`` and ``interview.wav`` (10 s);
- ``path/to/emodb``, ``path/to/crema-d`` and ``path/to/ravdess`` stand for the
  corpora: they are replaced by ``$SKLEARN_SER_EMODB``, ``$SKLEARN_SER_CREMAD``
  and ``$SKLEARN_SER_RAVDESS``, and a block that names one whose variable is
  unset is skipped;
- ``pip install ...`` commands are not run (the test runs in the installed
  environment);
- ``sklearn-ser train`` and ``cross-validate`` run with ``--max-epochs 1
  --width tiny --threads 1`` appended (later flags win), ``demo`` with
  ``--max-epochs 1 --n-samples 48 --threads 1``: the commands are checked, not
  the training;
- in python blocks every recipe of ``build_pipeline`` is shrunk to one epoch
  at the tiny widths (``sklearn_ser.pipeline.RECIPES`` is patched); an
  argument the block gives explicitly is kept.

Besides the blocks, two tables are checked against the code they describe:
docs/recipes.md's settings against ``sklearn_ser.recipes.RECIPES``, and each
row of docs/results.md against the stored configuration it names (its
command builds the same pipeline as ``benchmarks/emodb_protocol.py``).
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Pages whose blocks are not run yet, with the reason.
EXCLUDED = {}
#: Blocks known to fail, in pages this test does not own: ``(page, a line of the
#: block)`` -> the reason. Strict xfails, to be removed once fixed.
KNOWN_BROKEN = {}

FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[ \t]*$")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>.*?)\s*-->$")
#: Placeholder in the docs -> the environment variable that points at the corpus.
CORPORA = {"path/to/emodb": "SKLEARN_SER_EMODB", "path/to/crema-d": "SKLEARN_SER_CREMAD",
           "path/to/ravdess": "SKLEARN_SER_RAVDESS"}
#: Flags appended to ``sklearn-ser COMMAND``, so that no command trains for long.
QUICK_FLAGS = {"train": ["--max-epochs", "1", "--width", "tiny", "--threads", "1"],
               "cross-validate": ["--max-epochs", "1", "--width", "tiny", "--threads", "1"],
               "demo": ["--max-epochs", "1", "--n-samples", "48", "--threads", "1"]}
OPERATORS = {"&&", "||", ";", "|", ">", ">>", "<", "&"}


@dataclass
class Block:
    page: str
    line: int
    lang: str
    code: str
    not_run: str | None

    @property
    def id(self):
        return f"{self.page}:{self.line}"


def blocks_of(path):
    """The fenced blocks of a Markdown page, dedented, with the marker before each."""
    page = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, start = opening["indent"], i
        body = []
        i += 1
        while i < len(lines) and not (lines[i].strip() == "```"
                                      and len(lines[i]) - len(lines[i].lstrip()) <= len(indent)):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        before = next((line.strip() for line in reversed(lines[:start]) if line.strip()), "")
        marker = NOT_RUN.match(before)
        found.append(Block(page, start + 1, opening["lang"], "\n".join(body) + "\n",
                           marker["reason"] if marker else None))
        i += 1
    return found


BLOCKS = [block for page in PAGES for block in blocks_of(page)
          if block.lang in ("python", "bash")]


def params(lang):
    """The blocks of a language as test parameters, the known broken ones xfailed."""
    found = []
    for block in BLOCKS:
        if block.lang != lang:
            continue
        broken = [reason for (page, text), reason in KNOWN_BROKEN.items()
                  if page == block.page and text in block.code]
        marks = [pytest.mark.xfail(strict=True, reason=broken[0])] if broken else []
        found.append(pytest.param(block, id=block.id, marks=marks))
    return found


def commands_of(code):
    """The shell lines of a bash block, continuation lines joined, as token lists
    (operators such as ``&&`` and ``>`` are tokens of their own)."""
    logical = re.sub(r"\\\n", " ", code)
    commands = []
    for line in logical.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        if tokens:
            commands.append(tokens)
    return commands


def simple_commands(tokens):
    """Split a shell line's tokens at its operators: ``[(words, operator_after)]``."""
    parts, words = [], []
    for token in tokens:
        if token in OPERATORS:
            parts.append((words, token))
            words = []
        else:
            words.append(token)
    parts.append((words, None))
    return parts


def rewrite(tokens):
    """The shell line to run: ``pip install`` dropped, quick flags appended to the
    ``sklearn-ser`` commands. None when nothing is left to run."""
    out = []
    for words, operator in simple_commands(tokens):
        if words[:2] == ["pip", "install"]:
            continue
        if words[:1] == ["sklearn-ser"] and len(words) > 1:
            words = [*words, *QUICK_FLAGS.get(words[1], [])]
        out += [shlex.quote(word) for word in words]
        if operator:
            out.append(operator)
    while out and out[-1] in ("&&", ";"):
        out.pop()
    return " ".join(out) or None


def corpus_paths(code):
    """``{placeholder: folder}`` for the corpora a block names; skips the test when
    a corpus's variable is unset."""
    paths = {}
    for placeholder, variable in CORPORA.items():
        if placeholder in code:
            folder = os.environ.get(variable)
            if not folder:
                pytest.skip(f"needs {placeholder}: set {variable} to the corpus folder")
            paths[placeholder] = folder
    return paths


# -- the scratch folder ---------------------------------------------------------------
@pytest.fixture(scope="module")
def speech():
    from sklearn_ser.datasets import make_emotional_speech

    return make_emotional_speech(28, n_classes=4, random_state=0)


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory, speech):
    """One scratch folder per page, made on first use."""
    folders = {}

    def get(page):
        if page not in folders:
            folder = tmp_path_factory.mktemp(re.sub(r"\W", "_", page))
            X, y, speakers = speech
            for i, (signal, label, speaker) in enumerate(zip(X[:24], y[:24], speakers[:24],
                                                             strict=True)):
                (folder / "my_wavs" / label).mkdir(parents=True, exist_ok=True)
                sf.write(folder / "my_wavs" / label / f"spk{speaker}_{i:02d}.wav", signal,
                         16000)
            for name, signal in zip(("a.wav", "b.wav", "file.wav"), X[24:], strict=False):
                sf.write(folder / name, signal, 16000)
            (folder / "clips").mkdir()
            for i, signal in enumerate(X[25:]):
                sf.write(folder / "clips" / f"clip{i}.wav", signal, 16000)
            sf.write(folder / "interview.wav", np.concatenate(X[:5]), 16000)
            folders[page] = folder
        return folders[page]

    return get


@pytest.fixture
def quick_recipes(monkeypatch):
    import sklearn_ser.pipeline

    quick = {name: MappingProxyType({**recipe, "width": "tiny", "max_epochs": 1})
             for name, recipe in sklearn_ser.pipeline.RECIPES.items()}
    monkeypatch.setattr(sklearn_ser.pipeline, "RECIPES", MappingProxyType(quick))


def _skip_if_not_run(block):
    if block.page in EXCLUDED:
        pytest.skip(EXCLUDED[block.page])
    if block.not_run:
        pytest.skip(f"not run: {block.not_run}")


@pytest.mark.parametrize("block", params("python"))
def test_python_block_runs(block, workdirs, monkeypatch, quick_recipes):
    _skip_if_not_run(block)
    code = block.code
    for placeholder, folder in corpus_paths(code).items():
        code = code.replace(placeholder, folder)
    monkeypatch.chdir(workdirs(block.page))
    exec(compile(code, block.id, "exec"), {"__name__": "__main__"})


@pytest.mark.parametrize("block", params("bash"))
def test_bash_block_runs(block, workdirs):
    _skip_if_not_run(block)
    paths = corpus_paths(block.code)
    lines = [rewrite(tokens) for tokens in commands_of(block.code)]
    lines = [line for line in lines if line]
    if not lines:
        pytest.skip("nothing to run but pip install (the test runs in the installed environment)")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for line in lines:
        for placeholder, folder in paths.items():
            line = line.replace(placeholder, shlex.quote(folder))
        done = subprocess.run(["bash", "-c", line], cwd=workdirs(block.page), env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (f"{block.id}: `{line}` exited {done.returncode}\n"
                                      f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


def sklearn_ser_commands():
    """Every ``sklearn-ser`` command of the bash blocks, run or not, with where it is."""
    found = []
    for block in BLOCKS:
        if block.lang == "bash":
            for tokens in commands_of(block.code):
                for words, _ in simple_commands(tokens):
                    if words[:1] == ["sklearn-ser"]:
                        where = f"{block.id} {' '.join(words[:2])}"
                        found.append(pytest.param(words[1:], id=where))
    return found


@pytest.mark.parametrize("argv", sklearn_ser_commands())
def test_documented_command_parses(argv):
    from sklearn_ser.cli import build_parser

    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 0, f"sklearn-ser {' '.join(argv)}: usage error"


def test_known_broken_blocks_exist():
    """Every KNOWN_BROKEN entry still names a block, so a stale entry is noticed."""
    for page, text in KNOWN_BROKEN:
        assert any(block.page == page and text in block.code for block in BLOCKS), (page, text)


def test_the_blocks_are_found():
    """The extraction sees the blocks it should: a python block of the README,
    a bash block run with the quick flags, and the marked ones skipped."""
    readme = [block for block in BLOCKS if block.page == "README.md"]
    assert any(block.lang == "python" and "build_pipeline" in block.code for block in readme)
    assert any(block.not_run == "the test suite itself" for block in readme)
    assert rewrite(commands_of("pip install torch==2.13.0 && pip install -e '.[test]' && "
                               "sklearn-ser demo --output d")[0]) == \
        "sklearn-ser demo --output d --max-epochs 1 --n-samples 48 --threads 1"
    assert rewrite(commands_of("sklearn-ser timeline m.sser x.wav --hop 1 > t.csv  # a note")[0]) \
        == "sklearn-ser timeline m.sser x.wav --hop 1 > t.csv"
    assert rewrite(commands_of("sklearn-ser train --dataset demo \\\n  --out m.sser")[0]) == \
        "sklearn-ser train --dataset demo --out m.sser --max-epochs 1 --width tiny --threads 1"


# -- tables against the code -----------------------------------------------------------
def table_rows(path, heading):
    """The body rows (lists of cell strings) of the first table under ``heading``."""
    text = path.read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1]
    section = re.split(r"\n#{1,3} ", section, maxsplit=1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def literal(cell):
    return ast.literal_eval(cell.strip("`"))


def test_recipe_table_is_the_recipes():
    from sklearn_ser.cli import build_parser
    from sklearn_ser.recipes import RECIPES

    rows = table_rows(ROOT / "docs" / "recipes.md", "## Settings")
    table = {row[0].strip("`"): row for row in rows}
    assert set(table) == set(RECIPES["cpu"]), "the table lists every setting, and no other"
    for name, (_, flag, cpu, paper) in table.items():
        assert literal(cpu) == RECIPES["cpu"][name], name
        assert literal(paper) == RECIPES["paper"][name], name
        value = RECIPES["cpu"][name]
        # the flag is the train command's, and takes the recipe's value
        argv = ["train", "--dataset", "demo", "--out", "m.sser", flag.strip("`")]
        if value is None:
            continue  # "none" is the absence of the flag
        if name == "normalize":  # a word for each of the front end's values
            argv.append({True: "global", False: "none"}.get(value, value))
        elif not isinstance(value, bool):
            argv.append(str(value))
        build_parser().parse_args(argv)


@pytest.fixture(scope="module")
def protocol():
    spec = importlib.util.spec_from_file_location(
        "emodb_protocol", ROOT / "benchmarks" / "emodb_protocol.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def describe(estimator):
    """An estimator's parameters, objects (callbacks, splits, members) as their class
    and their own parameters, so that two equal set-ups compare equal."""
    from sklearn.ensemble import VotingClassifier
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return [(name, describe(step)) for name, step in estimator.steps]
    if isinstance(estimator, VotingClassifier):
        return ("vote", estimator.voting,
                [(name, describe(net)) for name, net in estimator.estimators])
    out = {}
    for key, value in estimator.get_params(deep=False).items():
        if key == "verbose":
            continue
        if key == "callbacks":
            value = [(name, type(cb).__name__, cb.get_params()) for name, cb in value or []]
        elif key == "train_split" and value is not None:
            value = (type(value).__name__, vars(value))
        out[key] = value
    return out


RESULT_TABLES = {"## Stratified 5-fold": ["5"], "## Leave one speaker out": ["loso"],
                 "## Networks and losses": ["5", "loso"]}


def result_rows():
    rows = []
    for heading, folds in RESULT_TABLES.items():
        for row in table_rows(ROOT / "docs" / "results.md", heading):
            name = re.search(r"\(([\w.-]+)\)", row[0])[1]
            flags = row[1].strip("`")
            for cv in folds:
                rows.append(pytest.param(name, flags, cv, id=f"{name}-{cv}"))
    return rows


@pytest.mark.parametrize("name, flags, cv", result_rows())
def test_results_row_command_is_its_configuration(name, flags, cv, protocol):
    """A row's command (base command + flags) builds the pipeline its stored
    configuration ran; a baseline without a command line names the script."""
    from sklearn_ser.cli import build_parser, pipeline_from_args

    if flags.startswith("python benchmarks/emodb_protocol.py"):
        assert f"--config {name}" in flags and name in protocol.CONFIGS
        return
    argv = ["cross-validate", "--dataset", "emodb", "--root", "path/to/emodb", "--cv", cv,
            *shlex.split(flags)]
    documented = pipeline_from_args(build_parser().parse_args(argv))
    members = protocol.ENSEMBLES.get(name, (name,))
    stored = [protocol.build(protocol.CONFIGS[member]) for member in members]
    if len(stored) == 1:
        assert describe(documented) == describe(stored[0])
    else:  # a vote: the front end once, then each member's network
        vote = documented[-1]
        assert len(vote.estimators) == len(stored)
        assert describe(documented[0]) == describe(stored[0][0])
        for (_, network), alone in zip(vote.estimators, stored, strict=True):
            assert describe(network) == describe(alone[-1])
