"""ADCRNN (Pham et al. 2020, Table 1) and ACRNN (Chen et al. 2018): shapes, sizes, behaviour."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from sklearn_ser.nn import ACRNN, ADCRNN
from sklearn_ser.nn._adcrnn import DilatedSkipBlock
from sklearn_ser.nn._layers import AttentionPooling

DOCS = Path(__file__).resolve().parents[1] / "docs" / "models.md"

SMALL_ADCRNN = dict(
    conv_channels=8, dilated_channels=16, linear_units=32, lstm_units=16, embedding_dim=16
)
SMALL_ACRNN = dict(
    conv_channels=8,
    stacked_channels=16,
    n_stacked=2,
    linear_units=32,
    lstm_units=16,
    embedding_dim=16,
)
SMALL = {ADCRNN: SMALL_ADCRNN, ACRNN: SMALL_ACRNN}


def _chunks(batch=2, n_frames=100, n_mels=20, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, n_frames, n_mels, generator=generator)


def _small(model_cls, **kwargs):
    """A narrow model for 20-bin chunks (or ``n_mels`` given in ``kwargs``)."""
    torch.manual_seed(0)
    return model_cls(**{"n_mels": 20, **SMALL[model_cls], **kwargs})


# --- shapes -------------------------------------------------------------------------------


# Pham, Dang and Nguyen (JAEC 2020), Table 1, for a 300 x 40 x 3 input.
TABLE1_SHAPES = [
    ("conv", (298, 38, 128)),
    ("pool", (149, 9, 128)),
    ("skip_net", (149, 9, 256)),
    ("frame_linear", (149, 512)),
    ("bilstm", (149, 512)),
    ("attention", (512,)),
    ("embedding", (64,)),
    ("logits", (7,)),
]
# Chen et al.'s acrnn1.py: SAME convolutions, 2x4 pooling -> time_step=150, p=10,
# num_linear=768, cell_units=128 per direction, F1=64.
CHEN_CODE_SHAPES = [
    ("conv1", (300, 40, 128)),
    ("pool", (150, 10, 128)),
    ("conv_stack", (150, 10, 256)),
    ("frame_linear", (150, 768)),
    ("bilstm", (150, 256)),
    ("attention", (256,)),
    ("embedding", (64,)),
    ("logits", (7,)),
]


@pytest.mark.parametrize(
    ("model_cls", "expected"), [(ADCRNN, TABLE1_SHAPES), (ACRNN, CHEN_CODE_SHAPES)]
)
def test_default_widths_give_the_published_shapes(model_cls, expected):
    torch.manual_seed(0)
    model = model_cls().eval()
    shapes = model.intermediate_shapes(_chunks(batch=2, n_frames=300, n_mels=40))
    assert list(shapes.items()) == expected


@pytest.mark.parametrize("n_mels", [20, 26, 40])
def test_small_adcrnn_follows_valid_conv_and_pool_arithmetic(n_mels):
    model = _small(ADCRNN, n_classes=4, n_mels=n_mels).eval()
    x = _chunks(batch=3, n_frames=100, n_mels=n_mels)
    shapes = model.intermediate_shapes(x)
    # VALID 3x3: 100 -> 98 frames, n_mels -> n_mels - 2; pool 2x4 floors.
    freq = (n_mels - 2) // 4
    assert shapes["conv"] == (98, n_mels - 2, 8)
    assert shapes["skip_net"] == (49, freq, 16)
    assert shapes["bilstm"] == (49, 32)
    logits, embedding = model(x)
    assert logits.shape == (3, 4)
    assert embedding.shape == (3, 16)
    assert (model.n_mels, model.n_classes, model.embedding_dim) == (n_mels, 4, 16)


@pytest.mark.parametrize("n_mels", [20, 40])
def test_small_acrnn_follows_same_conv_and_pool_arithmetic(n_mels):
    model = _small(ACRNN, n_classes=4, n_mels=n_mels).eval()
    x = _chunks(batch=3, n_frames=100, n_mels=n_mels)
    shapes = model.intermediate_shapes(x)
    assert shapes["conv1"] == (100, n_mels, 8)
    assert shapes["conv_stack"] == (50, n_mels // 4, 16)
    logits, embedding = model(x)
    assert logits.shape == (3, 4)
    assert embedding.shape == (3, 16)


@pytest.mark.parametrize(("model_cls", "n_mels"), [(ADCRNN, 5), (ACRNN, 3)])
def test_too_few_mel_bins_raise(model_cls, n_mels):
    with pytest.raises(ValueError, match=f"n_mels={n_mels}"):
        model_cls(n_mels=n_mels)


@pytest.mark.parametrize("model_cls", [ADCRNN, ACRNN])
@pytest.mark.parametrize(("name", "value", "what"), [
    ("conv_channels", -8, "a positive integer"),
    ("conv_channels", 8.5, "a positive integer"),
    ("lstm_units", 0, "a positive integer"),
    ("embedding_dim", True, "a positive integer"),
    ("dropout", 1.0, r"a probability in \[0, 1\)"),
    ("dropout", -0.1, r"a probability in \[0, 1\)"),
    ("pool_size", (2,), r"two positive integers \(time, freq\)"),
    ("pool_size", (2, 0), r"two positive integers \(time, freq\)"),
])
def test_impossible_sizes_are_refused_by_name(model_cls, name, value, what):
    # torch would fail later ("negative dimension -8", "out_channels must be
    # divisible by groups") without naming the parameter.
    given = re.escape(f"{model_cls.__name__}: {name}={value!r}")
    with pytest.raises(ValueError, match=rf"{given} must be {what} \(module__{name} on a "
                                         r"classifier\)"):
        model_cls(**{**SMALL[model_cls], name: value})


def test_acrnn_may_have_no_stacked_convolution_and_adcrnn_needs_a_dilated_one():
    assert ACRNN(**{**SMALL_ACRNN, "n_stacked": 0})(_chunks(n_mels=40))[0].shape == (2, 7)
    with pytest.raises(ValueError, match="n_dilated=0 must be a positive integer"):
        ADCRNN(**SMALL_ADCRNN, n_dilated=0)


@pytest.mark.parametrize(("model_cls", "min_frames"), [(ADCRNN, 4), (ACRNN, 2)])
def test_min_frames_is_the_shortest_chunk_the_network_takes(model_cls, min_frames):
    model = _small(model_cls).train()
    assert model.min_frames == min_frames
    assert model(_chunks(n_frames=min_frames))[0].shape == (2, 7)
    with pytest.raises(RuntimeError):
        model(_chunks(n_frames=min_frames - 1))


def test_skip_net_receptive_field_is_three_dilated_convs():
    # Three 3x3 convolutions with dilation 2 see 1 + 3 * 2 * (3 - 1) = 13 frames;
    # the single dilated skip conv sees 5, inside that window.
    torch.manual_seed(0)
    block = DilatedSkipBlock(4, 6, n_dilated=3, dilation=2).double().eval()
    x = torch.randn(1, 4, 41, 9, dtype=torch.float64, requires_grad=True)
    out = block(x)
    assert out.shape == (1, 6, 41, 9)  # SAME padding
    out[0, :, 20, 4].sum().backward()
    rows = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 3))).flatten()
    assert (rows.min().item(), rows.max().item()) == (20 - 6, 20 + 6)


# --- parameter counts ---------------------------------------------------------------------


def _conv(c_in, c_out, kh, kw, bias):
    return c_in * c_out * kh * kw + (c_out if bias else 0)


def _bn(c):
    return 2 * c  # weight and bias; running statistics are buffers


def _bilstm(n_in, units):
    # per direction: 4 gates x (W_ih, W_hh, b_ih, b_hh)
    return 2 * 4 * units * (n_in + units + 2)


def _linear(n_in, n_out, bias=True):
    return n_in * n_out + (n_out if bias else 0)


ADCRNN_PARAMETERS = 4_566_664
ACRNN_PARAMETERS = 7_335_176


def _documented_counts():
    text = DOCS.read_text(encoding="utf-8")
    return {int(m.replace(",", "")) for m in re.findall(r"\b\d{1,3}(?:,\d{3})+\b", text)}


def test_adcrnn_parameter_count_layer_by_layer():
    layers = {
        "conv 3x3, 128 + BN": _conv(3, 128, 3, 3, bias=False) + _bn(128),
        "dilated chain 1 + BN": _conv(128, 256, 3, 3, bias=False) + _bn(256),
        "dilated chain 2, 3 + BN": 2 * (_conv(256, 256, 3, 3, bias=False) + _bn(256)),
        "dilated skip + BN": _conv(128, 256, 3, 3, bias=False) + _bn(256),
        "linear 512 per step + BN": _linear(9 * 256, 512, bias=False) + _bn(512),
        "BiLSTM 256": _bilstm(512, 256),
        "attention vector W (eq. 13)": _linear(512, 1),
        "FC1 64": _linear(512, 64),
        "FC2 7": _linear(64, 7),
    }
    assert sum(layers.values()) == ADCRNN_PARAMETERS
    assert sum(p.numel() for p in ADCRNN().parameters()) == ADCRNN_PARAMETERS
    assert ADCRNN_PARAMETERS in _documented_counts()


def test_acrnn_parameter_count_layer_by_layer():
    layers = {
        "conv1 5x3, 128": _conv(3, 128, 5, 3, bias=True),
        "conv2 5x3, 256": _conv(128, 256, 5, 3, bias=True),
        "conv3-6 5x3, 256": 4 * _conv(256, 256, 5, 3, bias=True),
        "linear 768 per step + BN": _linear(10 * 256, 768, bias=False) + _bn(768),
        "BiLSTM 128": _bilstm(768, 128),
        "attention vector W": _linear(256, 1),
        "FC1 64": _linear(256, 64),
        "FC2 7": _linear(64, 7),
    }
    assert sum(layers.values()) == ACRNN_PARAMETERS
    assert sum(p.numel() for p in ACRNN().parameters()) == ACRNN_PARAMETERS
    assert ACRNN_PARAMETERS in _documented_counts()


# --- attention ----------------------------------------------------------------------------


def test_attention_pooling_matches_numpy_eq13_14():
    torch.manual_seed(0)
    pool = AttentionPooling(3)
    w = np.array([0.5, -1.0, 2.0])
    b = 0.3
    with torch.no_grad():
        pool.score.weight.copy_(torch.tensor(w[None, :]))
        pool.score.bias.fill_(b)
    h = np.random.default_rng(0).normal(size=(2, 5, 3))
    pooled, beta = pool(torch.tensor(h, dtype=torch.float32))
    scores = h @ w + b
    expected_beta = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    expected_pooled = (expected_beta[:, :, None] * h).sum(axis=1)
    np.testing.assert_allclose(beta.detach().numpy(), expected_beta, rtol=1e-5)
    np.testing.assert_allclose(pooled.detach().numpy(), expected_pooled, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model_cls", [ADCRNN, ACRNN])
def test_attention_weights_are_a_distribution_over_time(model_cls):
    model = _small(model_cls).eval()
    with torch.no_grad():
        *_, beta = model(_chunks(batch=3), return_attention=True)
    n_steps = 49 if model_cls is ADCRNN else 50
    assert beta.shape == (3, n_steps)
    assert beta.dtype == torch.float32
    assert (beta >= 0).all()
    np.testing.assert_allclose(beta.sum(dim=1).numpy(), np.ones(3), rtol=1e-6)


# --- numerics -----------------------------------------------------------------------------


@pytest.mark.parametrize("model_cls", [ADCRNN, ACRNN])
def test_bfloat16_autocast_is_close_to_float32(model_cls):
    model = _small(model_cls).eval()
    x = _chunks(batch=2, n_frames=40, n_mels=20)
    with torch.no_grad():
        logits32, embedding32 = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits16, embedding16 = model(x)
    # bfloat16 keeps 8 significant bits (relative step 2^-8 = 0.4 %); a few
    # layers of round-off stay within 5 % of the output scale.
    for low, full in [(logits16, logits32), (embedding16, embedding32)]:
        assert torch.isfinite(low).all()
        scale = full.abs().max().item()
        assert (low.float() - full).abs().max().item() <= 0.05 * scale


@pytest.mark.parametrize("model_cls", [ADCRNN, ACRNN])
def test_eval_mode_is_deterministic_and_batch_independent(model_cls):
    model = _small(model_cls, dropout=0.5).eval()
    x = _chunks(batch=4)
    with torch.no_grad():
        first = model(x)
        second = model(x)
        alone = model(x[2:3])
    assert torch.equal(first[0], second[0])
    assert torch.equal(first[1], second[1])
    # batch norm uses running statistics in eval mode: a sample's output does
    # not depend on its batch mates.
    torch.testing.assert_close(alone[0], first[0][2:3], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model_cls", [ADCRNN, ACRNN])
def test_dropout_is_active_in_train_mode_only(model_cls):
    model = _small(model_cls, dropout=0.5).train()
    x = _chunks(batch=4)
    with torch.no_grad():
        a, b = model(x)[0], model(x)[0]
    assert not torch.equal(a, b)


@pytest.mark.parametrize("model_cls", [ADCRNN, ACRNN])
def test_gradient_reaches_first_conv_and_matches_finite_difference(model_cls):
    model = _small(model_cls, dropout=0.0).double().eval()
    x = _chunks(batch=2, n_frames=24, n_mels=20).double()
    readout = torch.randn(2, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    first_conv = next(iter(model.frontend.values()))[0]
    index = (1, 2, 1, 0)

    def objective():
        logits, embedding = model(x)
        return (logits * readout).sum() + embedding.square().sum()

    objective().backward()
    grad = first_conv.weight.grad[index].item()
    eps = 1e-6
    with torch.no_grad():
        first_conv.weight[index] += eps
        up = objective().item()
        first_conv.weight[index] -= 2 * eps
        down = objective().item()
    assert grad != 0.0
    assert grad == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-9)
