"""Citewire's public Python surface: the wire models of its HTTP API, a client, and a LlamaIndex retriever.

Light by design: importing it pulls in pydantic and httpx, never the service's models, Chroma or torch.
"""
