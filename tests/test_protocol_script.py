"""benchmarks/emodb_protocol.py: every configuration is the command line it documents."""

import importlib.util
import shlex
from pathlib import Path

import numpy as np
import pytest

from sklearn_ser.cli import build_parser, pipeline_from_args
from sklearn_ser.evaluation import make_cv

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "emodb_protocol.py"


@pytest.fixture(scope="module")
def protocol():
    spec = importlib.util.spec_from_file_location("emodb_protocol", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def comparable(pipe):
    """Every parameter of the pipeline; objects (callbacks, the validation split) as
    their class and their own attributes, so two equal set-ups compare equal."""
    params = pipe.get_params(deep=False)["steps"]
    features, clf = params[0][1], params[1][1]
    out = {f"features__{key}": value for key, value in features.get_params().items()}
    for key, value in clf.get_params(deep=False).items():
        if key == "callbacks":
            value = [(name, type(cb).__name__, cb.get_params()) for name, cb in value or []]
        elif key == "train_split" and value is not None:
            value = (type(value).__name__, vars(value))
        out[f"clf__{key}"] = value
    return out


def test_each_network_configuration_is_its_cli_command(protocol):
    checked = replicas = 0
    for name, config in protocol.CONFIGS.items():
        if config.get("kind") == "svm":
            continue
        if config.get("seed", 0):
            # a seed replica: the CLI's --seed also seeds the folds, so no flag gives it
            assert protocol.cli_command(name, "paper") == (
                f"python benchmarks/emodb_protocol.py run --config {name} --protocol paper")
            assert protocol.build(config)[-1].random_state == config["seed"]
            replicas += 1
            continue
        for proto in protocol.PROTOCOLS:
            words = shlex.split(protocol.cli_command(name, proto))
            assert words[:2] == ["sklearn-ser", "cross-validate"]
            args = build_parser().parse_args(words[1:])
            assert str(args.cv) == protocol.PROTOCOLS[proto][0] and args.random_state == 0
            assert args.recipe == "paper"
            from_cli = comparable(pipeline_from_args(args))
            from_script = comparable(protocol.build(config))
            assert from_cli == from_script, (name, proto)
            checked += 1
    assert checked == 2 * (len(protocol.CONFIGS) - 1 - replicas)


def test_an_ensemble_is_its_members_as_the_cli_soft_vote(protocol):
    from sklearn.ensemble import VotingClassifier
    from sklearn.pipeline import Pipeline

    for name, members in protocol.ENSEMBLES.items():
        words = shlex.split(protocol.cli_command(name, "loso"))
        assert words[:2] == ["sklearn-ser", "cross-validate"] and "--n-seeds" in words
        pipe = pipeline_from_args(build_parser().parse_args(words[1:]))
        vote = pipe[-1]
        assert isinstance(vote, VotingClassifier) and vote.voting == "soft"
        assert len(vote.estimators) == len(members)
        for (_, network), member in zip(vote.estimators, members, strict=True):
            alone = protocol.build(protocol.CONFIGS[member])
            assert comparable(Pipeline([("features", pipe[0]), ("clf", network)])) == \
                comparable(alone), (name, member)


def fold_record(config, probabilities, test_index, fold=1):
    return {"config": config, "protocol": "paper", "fold": fold, "n_folds": 5,
            "labels": ["a", "b", "c"], "classes": ["a", "b", "c"], "test_index": test_index,
            "probabilities": probabilities, "fit_time": 10.0, "train_time": 9.0,
            "epochs": 60, "selected_epoch": 60, "precision": "float32", "threads": 1}


def test_an_ensemble_fold_is_the_soft_vote_of_its_members(protocol, monkeypatch):
    monkeypatch.setitem(protocol.ENSEMBLES, "pair", ("m1", "m2"))
    corpus = type("Corpus", (), {"target": np.array(["c", "a", "b", "a", "c"]),
                                 "filenames": np.array([f"f{i}.wav" for i in range(5)])})
    # utterances 0, 1, 3, 4 tested; m1 and m2 disagree on 1 and 4, the mean decides
    m1 = fold_record("m1", [[.1, .2, .7], [.6, .4, 0], [.5, .3, .2], [.2, .3, .5]], [0, 1, 3, 4])
    m2 = fold_record("m2", [[.2, .2, .6], [.3, .7, 0], [.9, .1, 0], [.1, .6, .3]], [0, 1, 3, 4])
    records = {("m1", "paper"): [m1], ("m2", "paper"): [m2, fold_record("m2", m2[
        "probabilities"], [0, 1, 3, 4], fold=2)]}
    (fold,) = protocol.ensemble_records(records, corpus)[("pair", "paper")]  # fold 1 only
    assert fold["predictions"] == ["c", "b", "a", "b"]  # mean of 1: (.45, .55, 0)
    # UAR averages the recalls of the classes tested ("b" is not): (1/2 + 1/2) / 2
    assert fold["accuracy"] == 0.5 and fold["uar"] == pytest.approx(0.5)
    assert fold["confusion_matrix"] == [[1, 1, 0], [0, 0, 0], [0, 1, 1]]
    assert fold["per_class_recall"] == [0.5, None, 0.5]
    assert fold["train_time"] == 18.0  # the cost of both members
    m1["test_set"] = protocol._test_set_hash(corpus, [0, 1, 3, 4])  # as run_fold stores it
    assert protocol.ensemble_records(records, corpus)[("pair", "paper")][0] == fold
    other = type("Corpus", (), {"target": corpus.target,
                                "filenames": np.array([f"g{i}.wav" for i in range(5)])})
    with pytest.raises(SystemExit, match="other files than the corpus given"):
        protocol.ensemble_records(records, other)
    m2["test_index"] = [0, 1, 2, 4]
    with pytest.raises(SystemExit, match="same test utterances"):
        protocol.ensemble_records(records, corpus)


def test_folds_are_the_toolkits_splitters(protocol):
    """The script's folds are make_cv's: the CLI's --cv 5 / --cv loso with seed 0."""
    rng = np.random.default_rng(0)
    target = np.repeat(["anger", "boredom", "sadness"], 20)
    groups = rng.permutation(np.repeat([f"{s:02d}" for s in range(10)], 6))
    corpus = type("Corpus", (), {"target": target, "groups": groups,
                                 "filenames": np.array([f"f{i}.wav" for i in range(60)])})
    for proto, (cv, _) in protocol.PROTOCOLS.items():
        ours = protocol._splits(corpus, proto)
        splitter = make_cv(cv, groups, random_state=0)
        expected = list(splitter.split(np.zeros((60, 1)), target,
                                       groups if proto == "loso" else None))
        assert len(ours) == len(expected)
        for (train, test), (train_ref, test_ref) in zip(ours, expected, strict=True):
            np.testing.assert_array_equal(test, test_ref)
            np.testing.assert_array_equal(train, train_ref)
        tests = np.concatenate([test for _, test in ours])
        assert sorted(tests) == list(range(60))  # every utterance tested exactly once


def test_a_stored_fold_from_another_configuration_is_refused(protocol, tmp_path):
    corpus = type("Corpus", (), {"filenames": np.array([f"f{i}.wav" for i in range(10)])})
    test = np.arange(5)
    path = tmp_path / "fold-01.json"
    record = {"params": {"lr": 1.0}, "test_set": protocol._test_set_hash(corpus, test)}
    path.write_text(__import__("json").dumps(record))
    with pytest.raises(SystemExit, match="not the configuration's"):
        protocol._check_stored(path, "adcrnn-cc-small-tuned", corpus, test)
    record = {"params": protocol.CONFIGS["svm"], "test_set": "0" * 16}
    path.write_text(__import__("json").dumps(record))
    with pytest.raises(SystemExit, match="test files are not this fold's"):
        protocol._check_stored(path, "svm", corpus, test)


def rows(losses):
    return [{"epoch": i + 1, "valid_loss": loss} for i, loss in enumerate(losses)]


def test_an_interrupted_fold_is_not_taken_for_a_finished_one(protocol):
    config = dict(protocol.CONFIGS["adcrnn-cc-small-tuned"], epochs=10, patience=2)
    assert not protocol._interrupted(rows([3, 2, 1] + [1.5] * 7), config)  # all epochs
    assert not protocol._interrupted(rows([3, 2, 1, 1.5, 1.5]), config)  # early stopping
    assert protocol._interrupted(rows([3, 2, 1, 1.5]), config)  # Ctrl-C after epoch 4
    plain = dict(protocol.CONFIGS["adcrnn-cc-small-plain"], epochs=10)
    assert protocol._interrupted(rows([3, 2]), plain)
    assert not protocol._interrupted(None, protocol.CONFIGS["svm"])


def test_a_checkpoint_folder_belongs_to_one_configuration(protocol, tmp_path):
    name = "adcrnn-cc-small-tuned"
    config = protocol.CONFIGS[name]
    protocol.with_checkpoints(protocol.build(config), config, tmp_path)
    callbacks = [cb for cb, _ in protocol.build(config)[-1].callbacks]
    wrapped = protocol.with_checkpoints(protocol.build(config), config, tmp_path)[-1].callbacks
    assert [cb for cb, _ in wrapped] == ["checkpoint_best", "checkpoint", "resume", *callbacks]
    with pytest.raises(SystemExit, match="another configuration"):
        protocol.with_checkpoints(protocol.build(config), dict(config, lr=0.5), tmp_path)


def test_grid_pairs_compare_the_same_test_folds_only(protocol):
    def folds(**uar_by_fold):
        return [{"fold": int(k[1:]), "accuracy": 0.5 + u / 2, "uar": u}
                for k, u in uar_by_fold.items()]

    records = {
        ("adcrnn-cc-small-tuned", "loso"): folds(f1=0.7, f2=0.5, f3=0.9),
        # fold 2 is missing here and the folds come in another order: the pair
        # is fold 1 with fold 1 and fold 3 with fold 3, whatever the positions
        ("acrnn-cc-small-tuned", "loso"): folds(f3=0.96, f1=0.6),
        ("adcrnn-ce-small-tuned", "loso"): folds(f1=0.7, f2=0.4, f3=0.5),
    }
    d_acc, d_uar = protocol._differences(records, "adcrnn-cc-small-tuned",
                                         "acrnn-cc-small-tuned", "loso")
    np.testing.assert_allclose(d_uar, [0.1, -0.06])
    np.testing.assert_allclose(d_acc, [0.05, -0.03])
    rows = protocol.grid_pairs(records).splitlines()[2:]
    # One row per comparison with stored folds on both sides, nothing for the rest.
    assert rows == [
        "| adcrnn-cc-small-tuned | acrnn-cc-small-tuned | loso | 2 | +0.010 | +0.020 | 1 / 1 |",
        # a tie (fold 1) counts on neither side
        "| adcrnn-cc-small-tuned | adcrnn-ce-small-tuned | loso | 3 | +0.083 | +0.167 | 2 / 0 |",
    ]


def test_a_fold_records_the_precision_its_configuration_trains_in(protocol):
    # a pinned float32 row is float32 on every machine, a bfloat16 row bfloat16
    assert protocol.trained_precision(protocol.CONFIGS["adcrnn-cc-small-trim-all-shuffled"]) \
        == "float32"
    assert protocol.trained_precision(
        protocol.CONFIGS["adcrnn-cc-small-trim-all-shuffled-bf16"]) == "bfloat16"
    assert protocol.trained_precision(protocol.CONFIGS["svm"]) == "float32"
