"""Repairs for text as the shared corpora store it, applied where a corpus is read so that no model
learns the damage.

The BBC corpus holds its pound signs as "Â£": the UTF-8 bytes of "£" (C2 A3) were read once as
Latin-1, which turned the lead byte C2 into "Â", and written back as UTF-8. A generator trained on it
writes "Â£100m". Only that one damage is repaired: "Â" followed by a character of U+00A0–U+00BF
(the range whose UTF-8 lead byte is C2) is that character; any other "Â" is left as it is.
"""

from __future__ import annotations

import re

_LATIN1_READ_C2 = re.compile("\u00c2([\u00a0-\u00bf])")


def repair_mojibake(text: str) -> str:
    """``text`` with every "Â£"-style pair (a C2 lead byte read as Latin-1) put back as one character."""
    return _LATIN1_READ_C2.sub(r"\1", text)
