"""Sample arithmetic in numpy: what the voices, the renderer and the sinks compute with.

- ``samples``: the sample array type, the mono check, the one float -> int16 rule.
- ``resample``: Kaiser-sinc tables and exact-ratio resampling.
- ``clips``: speech clips prepared for the cache; per-millisecond peak and energy stats.
- ``limiter``: the clip limiter and the streaming mix limiter.
- ``loudness``, ``kweighting``, ``truepeak``, ``matmul``: BS.1770 gated loudness, the
  K-filter, Annex 2 true peak, one-core matrix products.

Nothing here imports numpy at package import; each module does, so import the module you use.
"""
