"""Answering: a question in, a cited answer or an abstention out. Imports only llm/, index/ and prompts/.

Two engines share ``types`` and ``retrieval``: ``rules_engine`` (passages, then ``checks/``) and
``evidence_engine`` (``evidence`` sentences, ``claims`` cited by id under a ``grammar``, one ``verifier``).
``responder`` and ``chat`` serve both; ``schemas`` is an answer as data.
"""
