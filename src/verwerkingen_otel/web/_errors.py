"""Web's exception.

    ValueError
     └── RulesError   the route rules file is wrong: raised at start-up, naming the file, the
                      rule and the key, never a value that may be personal data
"""

from __future__ import annotations

__all__ = ["RulesError"]


class RulesError(ValueError):
    """The rules file is wrong; the message names the file, the rule and the key."""
