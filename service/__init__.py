"""Citewire's answering side: settings, LLM backends, the query engine, citations, HTTP and CLI."""

import index  # noqa: F401  (sets the offline defaults before any model library is imported)
