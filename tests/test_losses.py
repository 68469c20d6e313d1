"""Center loss, contrastive-center loss and the combined criterion, against hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import log_loss

from sklearn_ser.nn import ADCRNN, CenterAugmentedLoss, CenterLoss, ContrastiveCenterLoss

# Three classes in 2-D, one sample each:
#   c0 = (0, 0), c1 = (1, 0), c2 = (0, 2)
#   x0 = (1, 1), y=0: ||x-c||^2 to (c0, c1, c2) = (2, 1, 2)
#   x1 = (2, 0), y=1:                            (4, 1, 8)
#   x2 = (0,-1), y=2:                            (1, 2, 9)
CENTERS = [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]
FEATURES = [[1.0, 1.0], [2.0, 0.0], [0.0, -1.0]]
LABELS = [0, 1, 2]
# center loss: 1/2 * mean(2, 1, 9) = 2
CENTER_LOSS = 2.0
# contrastive-center, lambda = 1:
#   x0: 1/2 * 2 / (1 + 2 + 1) = 1/4
#   x1: 1/2 * 1 / (4 + 8 + 1) = 1/26
#   x2: 1/2 * 9 / (1 + 2 + 1) = 9/8
#   mean = (1/4 + 1/26 + 9/8) / 3 = 49/104
CONTRASTIVE_CENTER_LOSS = 49 / 104


def _with_centers(loss, centers=CENTERS, dtype=torch.float32):
    with torch.no_grad():
        loss.centers.copy_(torch.tensor(centers, dtype=dtype))
    return loss


def _example(dtype=torch.float32):
    return torch.tensor(FEATURES, dtype=dtype), torch.tensor(LABELS)


def _contrastive_center_numpy(x, y, centers, lambda_):
    """Qi and Su (2017) eq. 3, one sample at a time, divided by the batch size."""
    total = 0.0
    for x_i, y_i in zip(x, y, strict=True):
        d = ((x_i[None, :] - centers) ** 2).sum(axis=1)
        total += 0.5 * d[y_i] / (np.delete(d, y_i).sum() + lambda_)
    return total / len(x)


# --- the two center losses ----------------------------------------------------------------


def test_center_loss_hand_computed():
    loss = _with_centers(CenterLoss(3, 2))
    assert loss(*_example()).item() == pytest.approx(CENTER_LOSS, rel=1e-6)


def test_contrastive_center_loss_hand_computed():
    loss = _with_centers(ContrastiveCenterLoss(3, 2, lambda_=1.0))
    assert loss(*_example()).item() == pytest.approx(CONTRASTIVE_CENTER_LOSS, rel=1e-6)


@pytest.mark.parametrize("lambda_", [0.5, 1.0, 10.0])
def test_contrastive_center_loss_matches_per_sample_numpy(lambda_):
    rng = np.random.default_rng(0)
    x, centers = rng.normal(size=(9, 5)), rng.normal(size=(4, 5))
    y = rng.integers(0, 4, size=9)
    loss = _with_centers(
        ContrastiveCenterLoss(4, 5, lambda_=lambda_).double(), centers, torch.float64
    )
    value = loss(torch.tensor(x), torch.tensor(y)).item()
    assert value == pytest.approx(_contrastive_center_numpy(x, y, centers, lambda_), rel=1e-12)


def test_center_loss_gradient_on_centers_hand_computed():
    # d/dc_k [1/(2m) sum_i ||x_i - c_{y_i}||^2] = -(1/m) sum_{i: y_i = k} (x_i - c_k)
    loss = _with_centers(CenterLoss(3, 2))
    loss(*_example()).backward()
    expected = -np.array([[1.0, 1.0], [1.0, 0.0], [0.0, -3.0]]) / 3
    np.testing.assert_allclose(loss.centers.grad.numpy(), expected, rtol=1e-6)


def test_contrastive_center_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.normal(size=(6, 3)), requires_grad=True)
    centers = torch.tensor(rng.normal(size=(3, 3)), requires_grad=True)
    y = torch.tensor(rng.integers(0, 3, size=6))
    loss = ContrastiveCenterLoss(3, 3).double()

    def value(features, centers):
        return torch.func.functional_call(loss, {"centers": centers}, (features, y))

    assert torch.autograd.gradcheck(value, (x, centers))


@pytest.mark.parametrize("loss_cls", [CenterLoss, ContrastiveCenterLoss])
def test_one_adam_step_moves_the_centers_by_the_learning_rate(loss_cls):
    torch.manual_seed(0)
    loss = loss_cls(3, 2)
    before = loss.centers.detach().clone()
    optimizer = torch.optim.Adam(loss.parameters(), lr=0.01)
    loss(*_example()).backward()
    grad = loss.centers.grad.clone()
    optimizer.step()
    # Adam's first step is lr * m / (sqrt(v) + eps) = lr * sign(grad) (bias corrected).
    expected = before - 0.01 * torch.sign(grad)
    torch.testing.assert_close(loss.centers.detach(), expected, rtol=0, atol=1e-6)
    assert (loss.centers.detach() != before).all()


def test_centers_are_seeded_by_torch_global_rng():
    torch.manual_seed(3)
    a = ContrastiveCenterLoss(7, 64).centers.detach()
    torch.manual_seed(3)
    b = ContrastiveCenterLoss(7, 64).centers.detach()
    assert a.shape == (7, 64)
    assert torch.equal(a, b)
    assert a.std().item() == pytest.approx(1.0, abs=0.1)  # standard normal


def test_distances_are_exact_near_a_far_center():
    # |x|^2 - 2 x.c + |c|^2 in float32 loses everything at |c| = 1000 (eps * 1e6 = 0.1
    # against a true value of 2e-4); the direct difference keeps it.
    loss = _with_centers(CenterLoss(1, 2), [[1000.0, 1000.0]])
    x = torch.tensor([[1000.01, 999.99]])
    expected = 0.5 * float(((x.double() - 1000.0) ** 2).sum())
    assert loss(x, torch.tensor([0])).item() == pytest.approx(expected, rel=1e-5)


def test_bfloat16_features_are_compared_in_float32():
    loss = _with_centers(ContrastiveCenterLoss(3, 2))
    x, y = _example()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(x.bfloat16(), y)
    assert value.dtype == torch.float32
    # the example's coordinates are exact in bfloat16
    assert value.item() == pytest.approx(CONTRASTIVE_CENTER_LOSS, rel=1e-6)


def test_mismatched_feature_size_suggests_the_fix():
    with pytest.raises(ValueError, match=r"n_features=4.*embedding_dim"):
        CenterLoss(3, 4)(torch.zeros(2, 3), torch.tensor([0, 1]))


# --- the combined criterion ---------------------------------------------------------------


def _logits():
    return torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-0.5, 1.5, 0.0]])


@pytest.mark.parametrize("aux", [None, "none", "None"])
def test_no_aux_is_plain_cross_entropy(aux):
    criterion = CenterAugmentedLoss(n_classes=3, n_features=2, aux=aux)
    assert criterion.center_loss is None
    assert list(criterion.parameters()) == []
    logits, y = _logits(), torch.tensor(LABELS)
    probabilities = torch.softmax(logits.double(), dim=1).numpy()
    expected = log_loss(LABELS, probabilities, labels=[0, 1, 2])
    assert criterion((logits, torch.zeros(3, 2)), y).item() == pytest.approx(expected, rel=1e-6)
    assert criterion(logits, y).item() == pytest.approx(expected, rel=1e-6)  # bare logits
    assert criterion.last_aux_ == 0.0


@pytest.mark.parametrize(
    ("aux", "aux_value"), [("contrastive-center", CONTRASTIVE_CENTER_LOSS), ("center", CENTER_LOSS)]
)
def test_total_is_cross_entropy_plus_weighted_aux(aux, aux_value):
    criterion = CenterAugmentedLoss(n_classes=3, n_features=2, aux=aux, aux_weight=0.3)
    _with_centers(criterion.center_loss)
    logits, (features, y) = _logits(), _example()
    ce = log_loss(LABELS, torch.softmax(logits.double(), dim=1).numpy())
    total = criterion((logits, features), y)
    assert total.item() == pytest.approx(ce + 0.3 * aux_value, rel=1e-6)
    assert criterion.last_ce_ == pytest.approx(ce, rel=1e-6)
    assert criterion.last_aux_ == pytest.approx(aux_value, rel=1e-6)
    assert isinstance(criterion.last_ce_, float)
    assert isinstance(criterion.last_aux_, float)


def test_criterion_centers_are_its_only_parameters_and_learn():
    torch.manual_seed(0)
    criterion = CenterAugmentedLoss(n_classes=3, n_features=2)
    assert [name for name, _ in criterion.named_parameters()] == ["center_loss.centers"]
    before = criterion.center_loss.centers.detach().clone()
    optimizer = torch.optim.Adam(criterion.parameters(), lr=0.05)
    criterion((_logits(), _example()[0]), torch.tensor(LABELS)).backward()
    optimizer.step()
    moved = (criterion.center_loss.centers.detach() - before).abs()
    torch.testing.assert_close(moved, torch.full_like(moved, 0.05), rtol=0, atol=1e-6)


def test_skorch_finds_the_criterion_centers():
    skorch = pytest.importorskip("skorch")
    net = skorch.NeuralNet(
        module=ADCRNN,
        module__conv_channels=4,
        module__dilated_channels=4,
        module__linear_units=8,
        module__lstm_units=4,
        module__embedding_dim=8,
        criterion=CenterAugmentedLoss,
        criterion__n_features=8,
        criterion__aux="center",
    ).initialize()
    names = [name for name, _ in net.get_all_learnable_params()]
    assert "center_loss.centers" in names
    assert isinstance(net.criterion_.center_loss, CenterLoss)


def test_bad_aux_raises_naming_the_parameter():
    with pytest.raises(ValueError, match=r"aux='contrastive'.*'contrastive-center', 'center'"):
        CenterAugmentedLoss(aux="contrastive")


@pytest.mark.parametrize(("name", "value", "bound"), [
    ("aux_weight", -1.0, ">= 0"), ("aux_weight", float("nan"), ">= 0"),
    ("aux_weight", "heavy", ">= 0"), ("lambda_", 0.0, "> 0"), ("lambda_", -1, "> 0"),
    ("lambda_", float("inf"), "> 0"), ("label_smoothing", -0.1, ">= 0"),
])
def test_bad_weights_raise_naming_the_parameter(name, value, bound):
    # -1 used to be accepted (a loss rewarding spread classes), NaN to fail training
    # with "lower the learning rate".
    with pytest.raises(ValueError, match=rf"CenterAugmentedLoss: {name}=.* must be a finite "
                                         rf"number {bound} \(criterion__{name} on a classifier"):
        CenterAugmentedLoss(**{name: value})
    with pytest.raises(ValueError, match=r"label_smoothing=1.5 must be in \[0, 1\]"):
        CenterAugmentedLoss(label_smoothing=1.5)
    assert CenterAugmentedLoss(aux_weight=0, lambda_=np.float32(0.5)).lambda_ == 0.5


def test_aux_without_embedding_raises():
    criterion = CenterAugmentedLoss(n_classes=3, n_features=2)
    with pytest.raises(TypeError, match=r"\(logits, embedding\)"):
        criterion(_logits(), torch.tensor(LABELS))


def test_batch_of_one():
    criterion = CenterAugmentedLoss(n_classes=3, n_features=2)
    _with_centers(criterion.center_loss)
    logits = torch.tensor([[2.0, 0.5, -1.0]])
    features, y = torch.tensor([FEATURES[1]]), torch.tensor([1])
    ce = -np.log(np.exp(0.5) / np.exp([2.0, 0.5, -1.0]).sum())
    total = criterion((logits, features), y)
    total.backward()
    assert total.item() == pytest.approx(ce + 1 / 26, rel=1e-6)
    assert torch.isfinite(criterion.center_loss.centers.grad).all()


def test_class_weight_and_label_smoothing_reach_cross_entropy():
    weight = [1.0, 2.0, 0.5]
    criterion = CenterAugmentedLoss(
        n_classes=3, n_features=2, aux=None, class_weight=weight, label_smoothing=0.1
    )
    logits, y = _logits(), torch.tensor(LABELS)
    # weighted mean of the smoothed per-sample losses, as PyTorch defines it
    log_p = torch.log_softmax(logits.double(), dim=1).numpy()
    w = np.asarray(weight)
    nll = -(w[LABELS] * log_p[np.arange(3), LABELS]).sum() / w[LABELS].sum()
    smooth = -(w[None, :] * log_p).sum(axis=1).sum() / w[LABELS].sum() / 3
    expected = 0.9 * nll + 0.1 * smooth
    assert criterion(logits, y).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="n_classes=3"):
        CenterAugmentedLoss(n_classes=3, class_weight=[1.0, 2.0])
