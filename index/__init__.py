"""Citewire's indexing side: articles in, chunks with exact offsets and embeddings out, into Chroma."""

import os

# Models come from installed packages. Unless the user opts in (HF_HUB_OFFLINE=0), a hub name must
# fail at once instead of retrying a network that is not there; this runs before transformers loads.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", os.environ["HF_HUB_OFFLINE"])
