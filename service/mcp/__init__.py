"""Citewire as an MCP server: search, ask, check and get_passage as tools, the stored articles as resources.

One server definition (``server.build_server``) served two ways: over stdio by ``citewire mcp`` (``stdio``), and
over streamable HTTP at ``/mcp`` of ``citewire serve`` (``http``), sharing that app's loaded parts.
"""
