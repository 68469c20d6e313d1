"""Shared settings of the examples: model widths that train in minutes on a CPU."""

#: ADCRNN widths small enough for a laptop CPU (the paper's are 128/256/512/256/64).
SMALL_ADCRNN = dict(
    module__conv_channels=8,
    module__dilated_channels=16,
    module__linear_units=32,
    module__lstm_units=16,
    module__embedding_dim=16,
    module__dropout=0.2,
)

#: ACRNN widths of the same scale (the paper's are 128/256/768/128/64).
SMALL_ACRNN = dict(
    module__conv_channels=8,
    module__stacked_channels=16,
    module__n_stacked=2,
    module__linear_units=32,
    module__lstm_units=16,
    module__embedding_dim=16,
)
