"""``citewire mcp``: the MCP server over stdio, for an assistant that starts it (Claude Desktop, an IDE)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from service.cli.common import settings_from_args


def _cmd_mcp(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    # stdout carries the protocol alone: log lines go to stderr, which MCP clients keep as the server's log,
    # and no progress bars fill it while the models load (set before transformers is imported).
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    os.environ.setdefault("TQDM_DISABLE", "1")
    import anyio

    from service.mcp.stdio import serve_stdio

    anyio.run(serve_stdio, settings)
    return 0
