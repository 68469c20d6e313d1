"""Distillation (``n_teachers``): a network that learns from a vote of networks of its
own settings as well as from the labels."""

import pickle

import numpy as np
import pytest
import torch
from scipy.special import log_softmax, softmax
from skorch.callbacks import Callback

from sklearn_ser.callbacks import resumable_callbacks
from sklearn_ser.features import ChunkedFeatures
from sklearn_ser.nn import distillation_loss


def _data(n=32):
    rng = np.random.default_rng(0)
    X = ChunkedFeatures(rng.standard_normal((n, 3, 40, 16), dtype=np.float32),
                        np.arange(n + 1), np.full(n, 40))
    return X, np.array(["calm", "angry"] * (n // 2))


class KeepTeachers(Callback):
    """Keeps the teachers' networks the distilled network trains with (in ``teachers_``:
    skorch takes a callback's attributes without a trailing underscore for parameters)."""

    def on_train_begin(self, net, **kwargs):
        self.teachers_ = list(net.__dict__.get("_teachers_", []))


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_the_loss_is_the_divergence_from_the_teachers_mean(temperature):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((5, 3))
    teachers = [rng.standard_normal((5, 3)) * 2 for _ in range(3)]
    # the oracle: T^2 * sum p log(p / q) over classes, averaged over the batch
    p = np.mean([softmax(t / temperature, axis=1) for t in teachers], axis=0)
    log_q = log_softmax(logits / temperature, axis=1)
    expected = temperature**2 * np.mean(np.sum(p * (np.log(p) - log_q), axis=1))
    got = distillation_loss(torch.tensor(logits, dtype=torch.float32),
                            [torch.tensor(t, dtype=torch.float32) for t in teachers], temperature)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.item(), expected, rtol=1e-5)
    # a network that matches the teachers' mean has nothing left to learn from them
    matched = torch.tensor(np.log(p) * temperature, dtype=torch.float32)
    assert distillation_loss(matched, [torch.tensor(t) for t in teachers],
                             temperature).item() == pytest.approx(0.0, abs=1e-6)


def test_the_teachers_are_networks_of_the_same_settings_seeded_after_it(tiny_adcrnn):
    X, y = _data()
    keep = KeepTeachers()
    clf = tiny_adcrnn(n_teachers=2, callbacks=[("keep", keep)]).set_params(random_state=5)
    clf.fit(X, y)
    assert len(keep.teachers_) == 2
    for seed, teacher in zip((6, 7), keep.teachers_, strict=True):
        alone = tiny_adcrnn().set_params(random_state=seed).fit(X, y)
        assert not teacher.training
        for name, value in alone.module_.state_dict().items():
            torch.testing.assert_close(teacher.state_dict()[name], value)
    # nothing of them is kept: the fitted network predicts, pickles and saves alone
    assert "_teachers_" not in clf.__dict__
    assert clf.get_params()["n_teachers"] == 2
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    # and it differs from the same network trained on the labels alone
    plain = tiny_adcrnn().set_params(random_state=5).fit(X, y)
    assert not torch.equal(plain.module_.state_dict()["head.fc2.weight"],
                           clf.module_.state_dict()["head.fc2.weight"])


def test_a_training_batch_adds_the_teachers_term_and_an_evaluation_batch_does_not(
        tiny_adcrnn):
    X, y = _data()
    keep = KeepTeachers()
    clf = tiny_adcrnn(n_teachers=1, distill_temperature=3.0,
                      callbacks=[("keep", keep)]).fit(X, y)
    batch = torch.as_tensor(X.chunks[:6])
    target = torch.tensor([0, 1, 0, 1, 1, 0])
    output = clf.module_(batch)
    plain = clf.criterion_((output[0].float(), output[1].float()), target)
    with torch.no_grad():
        expected = plain + distillation_loss(output[0], [keep.teachers_[0](batch)[0]], 3.0)
    clf.__dict__["_teachers_"] = keep.teachers_
    torch.testing.assert_close(clf.get_loss(output, target, X=batch, training=True), expected)
    torch.testing.assert_close(clf.get_loss(output, target, X=batch, training=False), plain)


def test_teachers_train_without_the_runs_checkpoints(tiny_adcrnn, tmp_path):
    # a teacher resuming or writing the run's checkpoints would hand its finished
    # run to the distilled network, which would then train no epoch of its own
    X, y = _data()
    keep = KeepTeachers()
    clf = tiny_adcrnn(n_teachers=1,
                      callbacks=[*resumable_callbacks(tmp_path / "run"), ("keep", keep)])
    clf.fit(X, y)
    assert len(clf.history) == 2
    teacher = tiny_adcrnn().set_params(random_state=1).fit(X, y)
    assert not torch.equal(clf.module_.state_dict()["head.fc2.weight"],
                           teacher.module_.state_dict()["head.fc2.weight"])
    # the folder holds the distilled network's run, which a resume finds finished
    resumed = tiny_adcrnn(n_teachers=1,
                          callbacks=resumable_callbacks(tmp_path / "run"))
    resumed.fit(X, y)
    np.testing.assert_allclose(resumed.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_a_warm_start_fit_trains_on_the_labels_alone(tiny_adcrnn, capsys):
    X, y = _data()
    clf = tiny_adcrnn(n_teachers=1).set_params(verbose=1)
    clf.fit(X, y)
    assert "teacher 1 of 1" in capsys.readouterr().out
    clf.set_params(warm_start=True).fit(X, y)
    assert "teacher" not in capsys.readouterr().out
    assert len(clf.history) == 4


@pytest.mark.parametrize(("params", "match"), [
    ({"n_teachers": -1}, "n_teachers"),
    ({"n_teachers": 1.5}, "n_teachers"),
    ({"distill_temperature": 0.0}, "distill_temperature"),
    ({"n_teachers": 1, "random_state": 2**32 - 1}, r"random_state=4294967295 with n_teachers=1"),
])
def test_bad_settings_are_named(tiny_adcrnn, params, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        tiny_adcrnn().set_params(**params).fit(X, y)


def test_under_bfloat16_training_the_teachers_run_in_bfloat16_too(tiny_adcrnn):
    X, y = _data()
    keep = KeepTeachers()
    clf = tiny_adcrnn(n_teachers=1, callbacks=[("keep", keep)]).set_params(precision="bfloat16")
    clf.fit(X, y)
    assert clf.autocast_dtype_ == torch.bfloat16
    batch = torch.as_tensor(X.chunks[:6])
    target = torch.tensor([0, 1, 0, 1, 1, 0])
    output = clf.module_(batch)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        teacher_logits = keep.teachers_[0](batch)[0]
    assert teacher_logits.dtype == torch.bfloat16
    expected = (clf.criterion_((output[0], output[1]), target)
                + distillation_loss(output[0], [teacher_logits], 2.0))
    clf.__dict__["_teachers_"] = keep.teachers_
    torch.testing.assert_close(clf.get_loss(output, target, X=batch, training=True), expected)


def test_a_distilled_pipeline_is_one_network_in_a_model_file(tmp_path, capsys):
    from sklearn_ser.cli import main
    from sklearn_ser.persistence import load

    path = tmp_path / "m.skser"
    assert main(["train", "--dataset", "demo", "--n-samples", "16", "--width", "tiny",
                 "--max-epochs", "1", "--batch-size", "4", "--precision", "float32",
                 "--n-teachers", "1", "--out", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "teacher 1 of 1" in err and "trained on 16 utterances" in out
    model = load(path)
    assert model[-1].n_teachers == 1 and not hasattr(model[-1], "estimators_")
    assert "_teachers_" not in model[-1].__dict__
    assert main(["train", "--dataset", "demo", "--n-teachers", "-1", "--out",
                 str(tmp_path / "n.skser")]) == 2
    assert "--n-teachers: must be an integer >= 0, got -1" in capsys.readouterr().err
