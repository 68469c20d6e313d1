"""ADCRNN: the attention-based dilated CRNN of Pham, Dang and Nguyen (JAEC 2020)."""

from __future__ import annotations

from torch import nn

from ._layers import AttentiveCRNN, ConvBlock, check_sizes

__all__ = ["ADCRNN"]


class DilatedSkipBlock(nn.Module):
    """The "Skip-Net" of Table 1: a chain of dilated convolutions plus a dilated skip.

    ``out = chain(x) + skip(x)``, where ``chain`` is ``n_dilated`` dilated 3x3
    :class:`ConvBlock` (batch norm + LeakyReLU each) and ``skip`` is one more
    dilated 3x3 :class:`ConvBlock` from the input channels, so the two branches
    have the same width. SAME padding keeps ``(time, freq)``.

    Parameters
    ----------
    in_channels : int
        Channels of the pooled map (128 in the paper).
    out_channels : int
        Channels of every dilated convolution (256).
    n_dilated : int
        Convolutions in the chain (3).
    dilation : int
        Dilation of every convolution (2).

    Notes
    -----
    Input ``(batch, in_channels, time, freq)``, output ``(batch, out_channels,
    time, freq)``.
    """

    def __init__(self, in_channels, out_channels, *, n_dilated, dilation):
        super().__init__()
        same = dict(kernel_size=3, padding=dilation, dilation=dilation)
        self.chain = nn.Sequential(
            *(
                ConvBlock(in_channels if i == 0 else out_channels, out_channels, **same)
                for i in range(n_dilated)
            )
        )
        self.skip = ConvBlock(in_channels, out_channels, **same)

    def forward(self, x):
        return self.chain(x) + self.skip(x)


class ADCRNN(AttentiveCRNN):
    """Attention-based dilated convolutional recurrent network (Pham et al. 2020, Table 1).

    Layer by layer, with the shapes of Table 1 for a ``(3, 300, 40)`` chunk
    (time x freq x channels):

    ==================  ==========================================  ============
    stage               layer                                       output
    ==================  ==========================================  ============
    ``conv``            conv 3x3, 128, VALID, BN, LeakyReLU(0.01)    298x38x128
    ``pool``            max pool 2x4 (stride 2x4)                    149x9x128
    ``skip_net``        3 dilated conv 3x3 (d=2, SAME) + dilated     149x9x256
                        skip conv, each BN + LeakyReLU, summed
    ``frame_linear``    linear 512 per time step, BN, LeakyReLU      149x512
    ``bilstm``          BiLSTM, 256 units per direction              149x512
    ``attention``       eq. 13-14                                    512
    ``embedding``       FC1 64, LeakyReLU                            64
    ``logits``          dropout, FC2 ``n_classes``                   ``n_classes``
    ==================  ==========================================  ============

    Parameters
    ----------
    n_classes : int, default=7
        Emotion classes (7 for Emo-DB).
    n_mels : int, default=40
        Mel bins of the input (its last axis); sets the input size of the
        per-time-step linear layer: ``dilated_channels * ((n_mels - 2) //
        pool_size[1])``.
    in_channels : int, default=3
        Static, delta and delta-delta.
    conv_channels : int, default=128
        Filters of the first (VALID) convolution.
    dilated_channels : int, default=256
        Filters of every convolution in the Skip-Net.
    n_dilated : int, default=3
        Dilated convolutions in the Skip-Net chain (the skip branch adds one).
    dilation : int, default=2
        Dilation of the Skip-Net convolutions.
    linear_units : int, default=512
        Units of the per-time-step linear layer.
    lstm_units : int, default=256
        LSTM units per direction; the BiLSTM output has ``2 * lstm_units``.
    embedding_dim : int, default=64
        Units of FC1, the embedding the center losses act on.
    dropout : float, default=0.5
        Dropout between FC1 and FC2. The paper gives no value; 0.5 is the
        classic rate for a fully connected classifier input, and the corpora
        (535 Emo-DB utterances) are small for a 4.57 M parameter model.
    pool_size : tuple of int, default=(2, 4)
        ``(time, freq)`` kernel and stride of the max pooling.

    Notes
    -----
    ``forward(x)`` maps ``(batch, in_channels, n_frames, n_mels)`` to
    ``(logits, embedding)`` (see :meth:`AttentiveCRNN.forward`); any
    ``n_frames >= pool_size[0] + 2`` works (``min_frames``). Choices where the paper is
    silent (biases before batch norm, where dropout sits, batch norm on the
    skip branch) are listed in ``docs/models.md``.
    """

    def __init__(
        self,
        *,
        n_classes=7,
        n_mels=40,
        in_channels=3,
        conv_channels=128,
        dilated_channels=256,
        n_dilated=3,
        dilation=2,
        linear_units=512,
        lstm_units=256,
        embedding_dim=64,
        dropout=0.5,
        pool_size=(2, 4),
    ):
        super().__init__()
        pool_size = check_sizes(
            "ADCRNN", dropout=dropout, pool_size=pool_size, n_classes=n_classes, n_mels=n_mels,
            in_channels=in_channels, conv_channels=conv_channels,
            dilated_channels=dilated_channels, n_dilated=n_dilated, dilation=dilation,
            linear_units=linear_units, lstm_units=lstm_units, embedding_dim=embedding_dim,
        )
        self.n_mels = n_mels
        # VALID 3x3 convolution (2 frames), then one pooled step.
        self.min_frames = pool_size[0] + 2
        # attention step t pools the convolution's frames p*t .. p*t + p - 1, centred
        # on the input frames 1 + p*t .. p*t + p
        self.time_pool, self.frame_offset = pool_size[0], 1
        pooled_mels = (n_mels - 2) // pool_size[1]
        if pooled_mels < 1:
            raise ValueError(
                f"n_mels={n_mels} is too small: the VALID 3x3 convolution and the "
                f"pool_size={pool_size} leave no Mel bin; use n_mels >= {pool_size[1] + 2}"
            )
        self.frontend = nn.ModuleDict(
            {
                "conv": ConvBlock(in_channels, conv_channels, kernel_size=3, padding=0),
                "pool": nn.MaxPool2d(pool_size, stride=pool_size),
                "skip_net": DilatedSkipBlock(
                    conv_channels, dilated_channels, n_dilated=n_dilated, dilation=dilation
                ),
            }
        )
        self._build_backend(
            map_features=dilated_channels * pooled_mels,
            linear_units=linear_units,
            lstm_units=lstm_units,
            embedding_dim=embedding_dim,
            n_classes=n_classes,
            dropout=dropout,
        )
