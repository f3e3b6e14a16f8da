"""Tables for publication: no count small enough to point at a child.

A published count from 1 to 4 shows as "<5"; 0 stays (there is no one to find).
"""

from typing import Literal

SMALL: Literal["<5"] = "<5"
# A count as a table shows it: the number, or "<5" in a table for publication.
Count = int | Literal["<5"]


def published(count: Count) -> Count:
    if isinstance(count, int) and 0 < count < 5:
        return SMALL
    return count
