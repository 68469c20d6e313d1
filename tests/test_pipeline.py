"""``build_pipeline``: the width presets and the training recipe (schedule, early stopping,
augmentation) as estimator parameters."""

import math

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import EarlyStopping

from sklearn_ser.callbacks import CosineAnnealing, SpecAugment
from sklearn_ser.datasets import make_emotional_speech
from sklearn_ser.pipeline import BUILD_DEFAULTS, WIDTHS, build_pipeline, width_params
from sklearn_ser.recipes import DEFAULT_RECIPE, RECIPES, describe_recipe

TINY_RUN = dict(width="tiny", chunk_frames=100, batch_size=16, verbose=0)


@pytest.fixture(scope="module")
def features():
    """40 one-second utterances of 2 emotions as fitted front-end output, and their labels."""
    X, y, _ = make_emotional_speech(40, n_classes=2, n_speakers=4, duration=1.0, random_state=0)
    front_end = build_pipeline(**TINY_RUN)[0]
    return front_end.fit_transform(X), np.asarray(y)


def named_callbacks(pipe):
    return dict(pipe[-1].callbacks or [])


def test_width_presets_become_module_parameters():
    assert width_params("adcrnn", "paper") == {}
    params = width_params("acrnn", "tiny")
    assert params == {f"module__{k}": v for k, v in WIDTHS["acrnn"]["tiny"].items()}
    clf = build_pipeline(model="acrnn", width="tiny", verbose=0)[-1]
    assert {k: clf.get_params()[k] for k in params} == params


def test_the_paper_recipe_is_the_classes_defaults_and_adds_no_callback():
    pipe = build_pipeline("paper", verbose=0)
    clf = pipe[-1]
    assert clf.lr == 1e-4 and clf.batch_size == 32 and clf.callbacks is None
    assert pipe[0].chunk_frames == 300 and pipe[0].chunk_hop_frames is None
    assert clf.iterator_train__shuffle is True  # skorch's own default is False
    defaults = type(clf)().get_params()
    for name in ("lr", "max_epochs", "batch_size", "train_split", "precision"):
        assert clf.get_params()[name] == defaults[name], name
    assert clf.criterion__aux == "contrastive-center" and clf.criterion__aux_weight == 1.0
    vote = build_pipeline(shuffle=False, n_seeds=2, verbose=0)[-1]
    assert [member.iterator_train__shuffle for _, member in vote.estimators] == [False, False]


def test_the_cpu_recipe_is_the_default_and_an_argument_overrides_it():
    pipe = build_pipeline(verbose=0)
    clf = pipe[-1]
    assert (clf.lr, clf.max_epochs, clf.batch_size, clf.train_split) == (1e-3, 60, 32, None)
    assert clf.module__conv_channels == WIDTHS["adcrnn"]["small"]["conv_channels"]
    assert pipe[0].chunk_frames == 200 and pipe[0].trim_zeros is True
    assert set(named_callbacks(pipe)) == {"augment", "lr_schedule"}
    assert RECIPES[DEFAULT_RECIPE] == {name: BUILD_DEFAULTS[name] for name in RECIPES["cpu"]}
    pipe = build_pipeline(lr=5e-4, augment=False, trim_zeros=False, verbose=0)
    assert pipe[-1].lr == 5e-4 and pipe[-1].max_epochs == 60 and pipe[0].trim_zeros is False
    assert set(named_callbacks(pipe)) == {"lr_schedule"}
    with pytest.raises(ValueError, match=r"recipe='gpu' must be a str among"):
        build_pipeline("gpu")


def test_describe_recipe_names_its_settings():
    assert describe_recipe("cpu") == ("cpu (adcrnn small, 60 epochs, lr 0.001 cosine, batch 32, "
                                      "200-frame chunks, SpecAugment, trimmed silence)")
    assert describe_recipe("paper").startswith("paper (adcrnn paper, 30 epochs, lr 0.0001 constant")


def test_recipe_parts_are_skorch_callbacks_that_clone():
    pipe = build_pipeline(schedule="cosine", patience=7, augment=True, max_epochs=12, lr=2e-3,
                          chunk_hop_frames=50, valid_fraction=0.2, **TINY_RUN)
    callbacks = named_callbacks(clone(pipe))
    assert isinstance(callbacks["augment"], SpecAugment)
    assert isinstance(callbacks["lr_schedule"], CosineAnnealing)
    assert callbacks["lr_schedule"].final_fraction == 0.01
    stopping = callbacks["early_stopping"]
    assert isinstance(stopping, EarlyStopping)
    assert (stopping.patience, stopping.monitor, stopping.load_best) == (7, "valid_loss", True)
    assert stopping.threshold == 0.0  # improves exactly when valid_loss_best is marked
    assert pipe[0].chunk_hop_frames == 50


@pytest.mark.parametrize(
    ("params", "match"),
    [(dict(patience=3, valid_fraction=0.0), "valid_fraction > 0"),
     (dict(patience=0), "patience=0"),
     (dict(patience=2.5), "patience=2.5"),
     (dict(schedule="step"), "schedule='step'"),
     # used to be a bare KeyError, or to wait for fit
     (dict(model="ADCRNN"), r"model='ADCRNN' must be a str among"),
     (dict(width="Small"), r"width='Small' must be a str among"),
     (dict(loss="contrastive"), r"loss='contrastive' must be a str among .* or None"),
     (dict(loss="none"), r"loss='none' must be"),
     (dict(valid_fraction=1.5), r"valid_fraction=1.5 must be a float in the range \[0.0, 1.0\)"),
     (dict(lr=-1, batch_size=0), r"lr=-1 must be .*; batch_size=0 must be")],
)
def test_bad_recipe_names_the_parameter(params, match):
    with pytest.raises(ValueError, match=match):
        build_pipeline(**params, verbose=0)


def test_unknown_keywords_are_refused_not_passed_to_the_network():
    # epochs=1 used to become module__epochs and fail only in fit.
    with pytest.raises(TypeError, match=r"unknown arguments \['epochs'\].*neither.*nor"
                                        r".*ADCRNN.*'conv_channels'.*max_epochs="):
        build_pipeline(epochs=1, verbose=0)
    assert build_pipeline(dropout=0.3, verbose=0)[-1].module__dropout == 0.3
    assert build_pipeline(model="acrnn", n_stacked=0, verbose=0)[-1].module__n_stacked == 0
    with pytest.raises(ValueError, match="width='wide'"):
        width_params("adcrnn", "wide")


def cosine(lr, epochs):
    eta_min = lr / 100
    return [eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t / epochs)) / 2
            for t in range(epochs)]


def test_cosine_schedule_matches_torchs_and_follows_set_params(features):
    X, y = features
    clf = build_pipeline(schedule="cosine", lr=3e-3, max_epochs=4, valid_fraction=0.0,
                         **TINY_RUN)[-1]
    clf.fit(X, y)
    np.testing.assert_allclose(clf.history[:, "event_lr"], cosine(3e-3, 4), rtol=1e-12)
    # torch's own scheduler gives the same rates
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=3e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4, eta_min=3e-5)
    rates = []
    for _ in range(4):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(clf.history[:, "event_lr"], rates, rtol=1e-9)
    # the run's length and rate are read at fit time, not frozen at construction
    clf.set_params(max_epochs=6, lr=1e-2).fit(X, y)
    np.testing.assert_allclose(clf.history[:, "event_lr"], cosine(1e-2, 6), rtol=1e-12)


def test_cosine_schedule_anneals_every_parameter_group_from_its_own_rate(features):
    X, y = features
    clf = build_pipeline(schedule="cosine", lr=3e-3, max_epochs=3, valid_fraction=0.0,
                         **TINY_RUN)[-1]
    clf.set_params(optimizer__param_groups=[("center_loss.*", {"lr": 0.5})]).fit(X, y)
    centers, network = clf.optimizer_.param_groups
    assert network["lr"] == pytest.approx(cosine(3e-3, 3)[-1])
    assert centers["lr"] == pytest.approx(cosine(0.5, 3)[-1])
    assert centers["params"][0] is clf.criterion_.center_loss.centers


def test_cosine_schedule_rejects_a_bad_fraction(features):
    X, y = features
    clf = build_pipeline(valid_fraction=0.0, max_epochs=1, **TINY_RUN)[-1]
    clf.set_params(callbacks=[("lr_schedule", CosineAnnealing(final_fraction=2.0))])
    with pytest.raises(ValueError, match=r"final_fraction=2\.0"):
        clf.fit(X, y)


def test_early_stopping_stops_and_keeps_the_best_validation_epoch(features):
    X, y = features
    # A step far too large makes the validation loss erratic: early stopping must end
    # the run and give back the weights of the epoch with the lowest validation loss.
    clf = build_pipeline(loss=None, lr=0.5, max_epochs=30, patience=2, valid_fraction=0.25,
                         random_state=1, **TINY_RUN)[-1].fit(X, y)
    valid_losses = clf.history[:, "valid_loss"]
    assert len(clf.history) < 30
    best = int(np.argmin(valid_losses))
    assert len(clf.history) == best + 1 + 2  # stopped `patience` epochs after the best
    _, valid = clf.get_split_datasets(X, np.searchsorted(clf.classes_, y))
    # The validation batches as skorch drew them, through the net's own forward
    # (under bfloat16 autocast where precision="auto" chose it), averaged as
    # skorch averages them: weighted by batch size.
    total = count = 0
    with torch.no_grad():
        clf.module_.eval()
        for chunks, targets in clf.get_iterator(valid, training=False):
            logits = clf.infer(chunks)
            logits = logits[0] if isinstance(logits, tuple) else logits
            total += torch.nn.functional.cross_entropy(logits.float(), targets).item() * len(
                targets
            )
            count += len(targets)
    loss = total / count
    assert loss == pytest.approx(valid_losses[best], rel=1e-5)
    assert loss != pytest.approx(valid_losses[-1], rel=1e-3)


def test_precision_reaches_every_network_and_is_checked():
    assert build_pipeline(verbose=0)[-1].precision == "auto"
    vote = build_pipeline(precision="bfloat16", n_seeds=2, verbose=0)[-1]
    assert [net.precision for _, net in vote.estimators] == ["bfloat16", "bfloat16"]
    with pytest.raises(ValueError, match=r"precision='half' must be a str among"):
        build_pipeline(precision="half")


def test_n_seeds_builds_a_soft_vote_of_the_single_seed_networks():
    ensemble = build_pipeline(n_seeds=3, random_state=5, patience=4, schedule="cosine",
                              valid_fraction=0.2, **TINY_RUN)
    vote = ensemble[-1]
    assert vote.voting == "soft" and [name for name, _ in vote.estimators] == [
        "seed5", "seed6", "seed7"]
    for seed, (_, member) in zip((5, 6, 7), vote.estimators, strict=True):
        alone = build_pipeline(random_state=seed, patience=4, schedule="cosine",
                               valid_fraction=0.2, **TINY_RUN)[-1]
        assert member.random_state == seed and member.train_split.random_state == seed
        assert type(member) is type(alone)
        plain = {k: v for k, v in member.get_params(deep=False).items()
                 if k not in ("callbacks", "train_split")}
        assert plain == {k: v for k, v in alone.get_params(deep=False).items()
                         if k not in ("callbacks", "train_split")}
        # each network has callback objects of its own (no state shared across members)
        assert [type(c) for _, c in member.callbacks] == [type(c) for _, c in alone.callbacks]
    first, second = (dict(m.callbacks) for _, m in vote.estimators[:2])
    assert first["early_stopping"] is not second["early_stopping"]
    assert build_pipeline(n_seeds=1, **TINY_RUN)[-1].__class__.__name__ == "ADCRNNClassifier"


@pytest.mark.parametrize("recipe", [
    dict(valid_fraction=0.0),
    # the stratified split, early stopping and masks see the vote's encoded labels
    dict(valid_fraction=0.25, patience=1, schedule="cosine", augment=True, max_epochs=3),
])
def test_n_seeds_predicts_the_mean_of_separately_trained_networks(features, recipe):
    X, y = features
    run = {**TINY_RUN, "max_epochs": 2, "lr": 3e-3, **recipe}
    vote = build_pipeline(n_seeds=2, random_state=3, **run)[-1].fit(X, y)
    apart = [build_pipeline(random_state=s, **run)[-1].fit(X, y) for s in (3, 4)]
    alone = [net.predict_proba(X) for net in apart]
    assert not np.allclose(alone[0], alone[1])  # the seeds do differ
    for member, net in zip(vote.estimators_, apart, strict=True):
        assert member.history[:, "train_loss"] == net.history[:, "train_loss"]
    np.testing.assert_allclose(vote.predict_proba(X), np.mean(alone, axis=0), rtol=1e-6)
    assert list(vote.classes_) == sorted(set(y))
    np.testing.assert_array_equal(vote.predict(X),
                                  vote.classes_[np.argmax(np.mean(alone, axis=0), axis=1)])


def test_n_seeds_needs_an_integer_seed():
    with pytest.raises(ValueError, match="random_state=None with n_seeds=2"):
        build_pipeline(n_seeds=2, random_state=None, verbose=0)


@pytest.mark.parametrize("n_seeds", [0, 2.0, True, "3"])
def test_bad_n_seeds_names_the_parameter(n_seeds):
    with pytest.raises(ValueError, match=f"n_seeds={n_seeds!r}"):
        build_pipeline(n_seeds=n_seeds, verbose=0)


@pytest.mark.parametrize(("model", "shortest"), [("adcrnn", 4), ("acrnn", 2)])
def test_chunks_too_short_for_the_network_are_refused_when_built(model, shortest):
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    build_pipeline(model=model, chunk_frames=shortest)  # the shortest that works
    # the network is built on the meta device: no random draw, no memory
    assert torch.equal(torch.rand(2), expected)
    with pytest.raises(ValueError, match=rf"chunk_frames={shortest - 1} is too short for "
                                         rf"{model.upper()}, which needs chunks of at least "
                                         rf"{shortest} frames"):
        build_pipeline(model=model, chunk_frames=shortest - 1)
    # and it used to fail only once the features were computed, in fit
    X, y, _ = make_emotional_speech(6, n_classes=2, duration=0.5, random_state=0)
    pipe = build_pipeline(model=model, width="tiny", max_epochs=1, valid_fraction=0,
                          chunk_frames=shortest, verbose=0)
    assert pipe.fit(X, y).predict_proba(X).shape == (6, 2)
