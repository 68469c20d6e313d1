"""ACRNN: the 3-D attention CRNN of Chen, He, Yang and Zhang (IEEE SPL 2018), the baseline."""

from __future__ import annotations

from torch import nn

from ._layers import AttentiveCRNN, ConvBlock, check_sizes

__all__ = ["ACRNN"]


class ACRNN(AttentiveCRNN):
    """3-D convolutional recurrent network with attention (Chen et al. 2018).

    Built after the paper and its authors' TensorFlow code
    (``xuanjihe/speech-emotion-recognition``, ``acrnn1.py``), with the shapes
    for a ``(3, 300, 40)`` chunk (time x freq x channels):

    ================  ================================================  ==========
    stage             layer                                             output
    ================  ================================================  ==========
    ``conv1``         conv 5x3, 128, SAME, LeakyReLU(0.01)              300x40x128
    ``pool``          max pool 2x4 (stride 2x4), dropout                150x10x128
    ``conv_stack``    5 x [conv 5x3, 256, SAME, LeakyReLU, dropout]     150x10x256
    ``frame_linear``  linear 768 per time step, BN, LeakyReLU           150x768
    ``bilstm``        BiLSTM, 128 units per direction                   150x256
    ``attention``     softmax over time of ``W . h_t``                  256
    ``embedding``     FC1 64, LeakyReLU                                 64
    ``logits``        dropout, FC2 ``n_classes``                        ``n_classes``
    ================  ================================================  ==========

    Where we follow the code rather than the paper's text:

    - **padding**: SAME for every convolution (``padding='SAME'`` in the
      code), so only the pooling shrinks the map; the paper does not say.
    - **layers**: six convolutions (one of 128 filters, five of 256), the
      code's ``layer1`` ... ``layer6``.
    - **linear size**: 768 units on ``10 * 256`` inputs per time step
      (``num_linear=768``, ``p=10``); here the input size follows ``n_mels``.
    - **batch norm**: only after the per-time-step linear layer
      (``batch_norm_wrapper``); the convolutions have a bias and no batch
      norm unless ``conv_batch_norm=True``.
    - **dropout**: after the pooling, after each later convolution and
      between FC1 and FC2 with one rate; the code's training script keeps
      every unit (``dropout_keep_prob=1``), hence ``dropout=0.0``.

    Where we depart from the code:

    - **attention**: the paper's ``softmax_t(W . h_t)`` (shared with ADCRNN,
      Pham et al. eq. 13-14), not the code's ``u * sigmoid(w . h_t + b)``
      with a one-unit attention size.
    - **LSTM biases**: PyTorch's LSTM has two bias vectors per gate where
      TensorFlow's ``BasicLSTMCell`` has one plus a fixed ``forget_bias=1``.

    Parameters
    ----------
    n_classes : int, default=7
        Emotion classes (the code uses 4 for IEMOCAP; 7 for Emo-DB).
    n_mels : int, default=40
        Mel bins of the input (its last axis); sets the input size of the
        per-time-step linear layer: ``stacked_channels * (n_mels //
        pool_size[1])``.
    in_channels : int, default=3
        Static, delta and delta-delta.
    conv_channels : int, default=128
        Filters of the first convolution (``L1``).
    stacked_channels : int, default=256
        Filters of each later convolution (``L2``).
    n_stacked : int, default=5
        Convolutions after the pooling.
    kernel_size : tuple of int, default=(5, 3)
        ``(time, freq)`` kernel of every convolution; both odd (SAME padding).
    pool_size : tuple of int, default=(2, 4)
        ``(time, freq)`` kernel and stride of the max pooling.
    linear_units : int, default=768
        Units of the per-time-step linear layer.
    lstm_units : int, default=128
        LSTM units per direction.
    embedding_dim : int, default=64
        Units of FC1 (``F1``).
    dropout : float, default=0.0
        Dropout rate (see above).
    conv_batch_norm : bool, default=False
        Batch-normalise the convolutions (not in the paper or code).

    Notes
    -----
    ``forward(x)`` maps ``(batch, in_channels, n_frames, n_mels)`` to
    ``(logits, embedding)`` (see :meth:`AttentiveCRNN.forward`); any
    ``n_frames >= pool_size[0]`` works (``min_frames``).
    """

    def __init__(
        self,
        *,
        n_classes=7,
        n_mels=40,
        in_channels=3,
        conv_channels=128,
        stacked_channels=256,
        n_stacked=5,
        kernel_size=(5, 3),
        pool_size=(2, 4),
        linear_units=768,
        lstm_units=128,
        embedding_dim=64,
        dropout=0.0,
        conv_batch_norm=False,
    ):
        super().__init__()
        pool_size = check_sizes(
            "ACRNN", dropout=dropout, pool_size=pool_size, n_classes=n_classes, n_mels=n_mels,
            in_channels=in_channels, conv_channels=conv_channels,
            stacked_channels=stacked_channels, n_stacked=n_stacked, may_be_zero=("n_stacked",),
            linear_units=linear_units, lstm_units=lstm_units, embedding_dim=embedding_dim,
        )
        self.n_mels = n_mels
        self.min_frames = pool_size[0]  # SAME convolutions, then one pooled step
        # attention step t pools the input frames p*t .. p*t + p - 1
        self.time_pool, self.frame_offset = pool_size[0], 0
        kernel_size = tuple(kernel_size)
        if any(k % 2 == 0 for k in kernel_size):
            raise ValueError(f"kernel_size={kernel_size} must be odd for SAME padding")
        pooled_mels = n_mels // pool_size[1]
        if pooled_mels < 1:
            raise ValueError(
                f"n_mels={n_mels} is too small for pool_size={pool_size}; "
                f"use n_mels >= {pool_size[1]}"
            )
        conv = dict(
            kernel_size=kernel_size,
            padding=(kernel_size[0] // 2, kernel_size[1] // 2),
            batch_norm=conv_batch_norm,
        )
        self.frontend = nn.ModuleDict(
            {
                "conv1": ConvBlock(in_channels, conv_channels, **conv),
                "pool": nn.Sequential(
                    nn.MaxPool2d(pool_size, stride=pool_size), nn.Dropout(dropout)
                ),
                "conv_stack": nn.Sequential(
                    *(
                        ConvBlock(
                            conv_channels if i == 0 else stacked_channels,
                            stacked_channels,
                            dropout=dropout,
                            **conv,
                        )
                        for i in range(n_stacked)
                    )
                ),
            }
        )
        map_channels = stacked_channels if n_stacked > 0 else conv_channels
        self._build_backend(
            map_features=map_channels * pooled_mels,
            linear_units=linear_units,
            lstm_units=lstm_units,
            embedding_dim=embedding_dim,
            n_classes=n_classes,
            dropout=dropout,
        )
