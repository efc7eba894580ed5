"""Matrix products kept on the calling thread, for the meters' blocked filters.

OpenBLAS spreads a large product over every core; on a busy machine (the player mixing,
an encoder running) its spinning threads make that many times slower than one core.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def matmul_one_core(a: npt.NDArray[Any], b: npt.NDArray[Any], out: npt.NDArray[Any]) -> None:
    """``out[...] = a @ b`` as a stack of small products.

    OpenBLAS runs a product of more than about 2**18 multiply-adds on all cores; on a busy
    machine its spinning threads make that many times slower than one core. Products kept
    below that size run on the calling thread, and numpy loops over the stack in C.
    """
    rows = max(1, 200_000 // (a.shape[1] * b.shape[1]))
    n = a.shape[0]
    main = n // rows * rows
    if main:
        stack = (main // rows, rows)
        np.matmul(
            a[:main].reshape(*stack, a.shape[1]), b, out=out[:main].reshape(*stack, b.shape[1])
        )
    if main < n:
        np.matmul(a[main:], b, out=out[main:])
