"""The evidence-first answering core: evidence sentences in, cited and verified sentences out.

Flow: ``evidence`` picks the sentences worth showing from the retrieved passages; the model answers
citing them by id (``claims`` reads its output, ``grammar`` keeps the ids real on llama.cpp);
``verifier`` scores every claim against its cited sentences; ``engine`` decides and cites.
"""
