"""Test BSNs: random ones that pass the 11-test (elfproef), for tests that need many distinct persons."""

from __future__ import annotations

import random

__all__ = ["random_bsn"]

_RNG = random.Random()


def random_bsn(rng: random.Random = _RNG) -> str:
    """A random nine-digit BSN that passes the 11-test."""
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        digits[0] = rng.randint(1, 9)
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1))) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)
