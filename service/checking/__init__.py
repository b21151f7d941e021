"""Claim checks: any text in, each of its claims labelled supported, contradicted or unmentioned by the articles.

Built from the answering parts (retrieval, evidence sentences, the verifier); HTTP and MCP call ``ClaimChecker``.
"""
