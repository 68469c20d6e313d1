"""The sklearn-ser program: help, version, usage errors, and option defaults."""

import re
import subprocess
import sys

import pytest

from sklearn_ser import __version__
from sklearn_ser.cli import build_parser, main, pipeline_from_args
from sklearn_ser.datasets import DATASETS
from sklearn_ser.pipeline import BUILD_DEFAULTS, LOSSES, SCHEDULES, WIDTHS, build_pipeline
from sklearn_ser.recipes import DEFAULT_RECIPE, RECIPES
from sklearn_ser.utils.choices import PRECISIONS

COMMANDS = ["demo", "cross-validate", "train", "predict", "timeline"]


def test_python_m_sklearn_ser_help_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "sklearn_ser", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: sklearn-ser")
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: sklearn-ser {command}")
    assert "--threads" in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sklearn-ser {__version__}"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "COMMAND"),
        (["fly"], "invalid choice: 'fly'"),
        (["predict", "m.joblib", "a.wav", "--format", "xml"], "--format"),
        (["cross-validate", "--dataset", "demo", "--cv", "fold5"], "--cv"),
        (["cross-validate", "--dataset", "emodb"], "--root PATH"),
        (["train", "--dataset", "demo", "--groups", "x", "--out", "m.joblib"], "--groups"),
        (["train", "--dataset", "demo", "--label", "x", "--out", "m.joblib"],
         "--label applies to --dataset folder only"),
        (["train", "--dataset", "folder", "--root", ".", "--groups", "(spk", "--out",
          "m.joblib"], "--groups '(spk' is not a valid regular expression"),
        (["timeline", "m.joblib", "a.wav", "--hop", "-1"], "--hop"),
        (["train", "--dataset", "demo", "--out", "m.sser", "--aux-weight", "nan"], "--aux-weight"),
        (["train", "--dataset", "demo", "--out", "m.sser", "--aux-weight", "-1"], "--aux-weight"),
        (["demo", "--n-samples", "10"], "--n-samples"),
        (["cross-validate", "--dataset", "emodb", "--root", ".", "--n-samples", "50"],
         "--n-samples applies to --dataset demo only"),
        (["train", "--dataset", "folder", "--root", ".", "--n-classes", "2", "--out",
          "m.joblib"], "--n-classes applies to --dataset demo only"),
        (["train", "--dataset", "demo", "--n-seeds", "2", "--out", "m.joblib",
          "--checkpoint-dir", "ck"], "--n-seeds 2"),
        (["cross-validate", "--dataset", "demo", "--n-seeds", "0"], "--n-seeds"),
        (["train", "--dataset", "demo", "--seed", "-1", "--n-seeds", "2", "--out", "m.sser"],
         "-1 must be an int in the range [0, 4294967295]"),
        (["train", "--dataset", "demo", "--random-state", "-1", "--n-seeds", "2", "--out",
          "m.sser"], "--random-state -1 must be an int in the range [0, 4294967295]"),
        (["train", "--dataset", "demo", "--recipe", "gpu", "--out", "m.sser"],
         "--recipe: invalid choice: 'gpu'"),
        (["train", "--dataset", "demo", "--loss", "None", "--out", "m.sser"], "--loss"),
        (["train", "--dataset", "demo", "--schedule", "none", "--out", "m.sser"], "--schedule"),
        (["train", "--dataset", "demo", "--n-seeds", "65", "--out", "m.sser"], "not 65"),
        (["train", "--dataset", "demo", "--root", ".", "--out", "m.sser"],
         "--root does not apply to --dataset demo"),
        (["train", "--dataset", "demo", "--on-error", "skip", "--out", "m.sser"],
         "--on-error applies to a corpus"),
        (["train", "--dataset", "emodb", "--root", ".", "--extensions", ".aiff", "--out",
          "m.sser"], "--extensions applies to --dataset folder only"),
        (["train", "--dataset", "folder", "--root", ".", "--extensions", ".wav", "aiff",
          "--out", "m.sser"], "--extensions takes endings that start with a dot, e.g. .aiff"),
        # before any feature is computed, not after
        (["train", "--dataset", "demo", "--chunk-frames", "2", "--out", "m.sser"],
         "error: --chunk-frames 2 is too short for ADCRNN, which needs chunks of at least 4"),
        (["train", "--dataset", "demo", "--patience", "3", "--out", "m.sser"],
         "error: --patience 3 needs a validation split to watch: set --valid-fraction > 0"),
        (["cross-validate", "--dataset", "demo", "--model", "acrnn", "--chunk-frames", "1"],
         "--chunk-frames 1 is too short for ACRNN"),
    ],
)
def test_usage_errors_exit_2_with_one_line(one_line_error, argv, fragment):
    assert main(argv) == 2
    one_line_error(fragment)


@pytest.mark.parametrize("message", [
    "/c/x.wav: the signal is empty (0 samples)",
    "cannot decode audio file '/c/x.wav': the file is empty (0 bytes)",
    "[Errno 2] audio file not found (a broken link?): '/c/x.wav'",
])
def test_a_skip_line_names_the_file_once(message):
    from sklearn_ser.cli._console import strip_name

    reason = strip_name(message, "/c/x.wav")
    assert "/c/x.wav" not in reason and not reason.endswith(":")
    assert reason.split()[-1] in ("samples)", "bytes)", "link?)")


def _train_args(*options):
    return build_parser().parse_args(["train", "--dataset", "demo", "--out", "m.sser", *options])


def _settings(pipe):
    """Every parameter of a pipeline, objects (callbacks, the split) as their class and
    their own parameters, so that two equal set-ups compare equal."""
    def plain(value):
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        if hasattr(value, "get_params") and not isinstance(value, type):
            return type(value).__name__, plain(sorted(value.get_params(deep=False).items()))
        if hasattr(value, "__dict__") and not isinstance(value, type):  # ValidSplit
            return type(value).__name__, vars(value)
        return value

    return {name: plain(value) for name, value in pipe.get_params(deep=True).items()
            if name not in ("steps", "features", "clf")}


@pytest.mark.parametrize("recipe", [None, *RECIPES])
def test_without_flags_the_command_line_builds_the_recipe(recipe):
    args = _train_args(*([] if recipe is None else ["--recipe", recipe]))
    # nothing given but the recipe: build_pipeline decides everything
    assert args.recipe == (recipe or DEFAULT_RECIPE) == (recipe or BUILD_DEFAULTS["recipe"])
    assert {name for name in vars(args) if name in BUILD_DEFAULTS} == {"recipe"}
    assert _settings(pipeline_from_args(args)) == _settings(build_pipeline(recipe or
                                                                           DEFAULT_RECIPE))
    other = next(name for name in RECIPES if name != args.recipe)  # the oracle tells them apart
    assert _settings(pipeline_from_args(args)) != _settings(build_pipeline(other))


def test_a_flag_overrides_the_recipe_and_the_recipe_decides_the_rest():
    args = _train_args("--recipe", "paper", "--max-epochs", "5", "--loss", "none",
                       "--augment", "--no-shuffle", "--schedule", "cosine", "--random-state", "7")
    expected = build_pipeline("paper", max_epochs=5, loss=None, augment=True, shuffle=False,
                              schedule="cosine", random_state=7)
    assert _settings(pipeline_from_args(args)) == _settings(expected)
    clf = pipeline_from_args(args)[-1]
    assert (clf.max_epochs, clf.lr, clf.criterion__aux, clf.iterator_train__shuffle) == (
        5, RECIPES["paper"]["lr"], None, False)
    # off flags turn the cpu recipe's switches off
    off = pipeline_from_args(_train_args("--no-augment", "--no-trim-zeros"))
    assert off[0].trim_zeros is False
    assert "augment" not in [name for name, _ in off[-1].callbacks or []]
    assert _settings(off) == _settings(build_pipeline(augment=False, trim_zeros=False))


def test_class_weight_flag_sets_the_classifiers_class_weight(capsys):
    args = _train_args("--class-weight", "balanced")
    assert pipeline_from_args(args)[-1].class_weight == "balanced"
    assert _settings(pipeline_from_args(args)) == _settings(build_pipeline(
        class_weight="balanced"))
    assert pipeline_from_args(_train_args("--class-weight", "none"))[-1].class_weight is None
    with pytest.raises(SystemExit):
        _train_args("--class-weight", "even")
    assert "--class-weight: invalid choice: 'even' (choose from balanced, none)" in \
        capsys.readouterr().err


def test_the_names_of_published_commands_still_work_and_are_left_out_of_help(capsys):
    old = _train_args("--epochs", "4", "--seed", "3", "--chunk-hop", "50")
    new = _train_args("--max-epochs", "4", "--random-state", "3", "--chunk-hop-frames", "50")
    assert {**vars(old), "parser": None} == {**vars(new), "parser": None}
    assert (new.max_epochs, new.random_state, new.chunk_hop_frames) == (4, 3, 50)
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"--epochs\b|--seed\b|--chunk-hop(?!-)", text) is None


@pytest.mark.parametrize("command", ["train", "cross-validate"])
def test_help_shows_the_default_recipes_values(command, capsys):
    assert main([command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    cpu = RECIPES[DEFAULT_RECIPE]
    for option, shown in [
        ("--max-epochs E", cpu["max_epochs"]), ("--width {paper,medium,small,tiny}", cpu["width"]),
        ("--lr LR", f"{cpu['lr']:g}"), ("--batch-size B", cpu["batch_size"]),
        ("--schedule {constant,cosine}", cpu["schedule"]),
        ("--augment, --no-augment", "on" if cpu["augment"] else "off"),
        ("--trim-zeros, --no-trim-zeros", "on" if cpu["trim_zeros"] else "off"),
        ("--valid-fraction P", f"{cpu['valid_fraction']:g}"),
    ]:
        help_text = text.split(f" {option} ", 1)[1].split(" --", 1)[0]
        assert help_text.endswith(f"({DEFAULT_RECIPE} recipe: {shown})"), (option, help_text)
    assert "--random-state SEED" in text and f"(default: {BUILD_DEFAULTS['random_state']})" \
        in text
    assert f"(default: {DEFAULT_RECIPE})" in text


@pytest.mark.parametrize(("option", "choices"), [
    ("--precision", PRECISIONS),
    ("--loss", tuple("none" if loss is None else loss for loss in LOSSES)),
    ("--model", tuple(WIDTHS)),
    ("--width", tuple(WIDTHS["adcrnn"])),
    ("--schedule", SCHEDULES),
    ("--dataset", DATASETS),
    ("--recipe", tuple(dict.fromkeys([DEFAULT_RECIPE, *RECIPES]))),
])
def test_choices_are_the_librarys(option, choices, capsys):
    assert main(["train", "--help"]) == 0
    assert f"{option} {{{','.join(choices)}}}" in capsys.readouterr().out


@pytest.mark.parametrize(("message", "expected"), [
    ("chunk_frames=2 is too short", "--chunk-frames 2 is too short"),
    ("patience=3 needs a split: set valid_fraction > 0", "--patience 3 needs a split: set "
                                                         "--valid-fraction > 0"),
    ("cv='group5' needs 5 speakers; use cv='loso'", "--cv group5 needs 5 speakers; use --cv loso"),
])
def test_library_errors_that_name_a_parameter_become_usage_errors(message, expected):
    from sklearn_ser.cli._parser import UsageError, usage_errors

    options = {"chunk_frames": "--chunk-frames", "patience": "--patience",
               "valid_fraction": "--valid-fraction", "cv": "--cv"}
    with pytest.raises(UsageError) as info, usage_errors(options):
        raise ValueError(message)
    assert str(info.value) == expected


def test_library_errors_that_name_no_parameter_are_raised_as_they_are():
    from sklearn_ser.cli._parser import UsageError, usage_errors

    with pytest.raises(ValueError) as info, usage_errors({"cv": "--cv"}):
        raise ValueError("the cv folds and --cv are fine")
    assert str(info.value) == "the cv folds and --cv are fine"
    assert not isinstance(info.value, UsageError)
