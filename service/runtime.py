"""Process-level set-up for serving: thread counts."""

from __future__ import annotations

import torch


def configure_for_serving() -> None:
    """Pin torch to one thread in the server.

    A query embeds a dozen tokens, where extra threads only add hand-off cost; and llama.cpp is given
    the cores explicitly for generation, so torch's spinning workers would steal them from it. With
    one thread, query embedding stays ~12 ms and steady (measured; see docs/BENCHMARKS.md).
    """
    torch.set_num_threads(1)
