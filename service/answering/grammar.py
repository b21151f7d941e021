"""A GBNF grammar for the answer, so every marker the model writes names an evidence sentence that exists.

The answer is either the refusal or one to four claims, each text followed by one or more ``[id]``
markers; text can hold no brackets, so a marker is always a real citation.
"""

from __future__ import annotations

import json

from prompts import load_prompt


def answer_grammar(n_evidence: int, max_claims: int = 4) -> str:
    ids = " | ".join(json.dumps(str(i)) for i in range(n_evidence, 0, -1))
    refusal = json.dumps(load_prompt("refusal"))
    return "\n".join(
        [
            f"root ::= {refusal} | claim (sep claim){{0,{max_claims - 1}}}",
            r'sep ::= " " | "\n"',
            r'claim ::= text " "? cite+ [.。]?',
            r"text ::= [^\[\]\n] [^\[\]\n]*",
            f'cite ::= "[" ({ids}) "]"',
        ]
    )
