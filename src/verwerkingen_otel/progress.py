"""Progress of a long command: a bar with rate and ETA on a terminal, plain lines otherwise.

    progress = Progress("generate", total=200_000, unit="actions")
    for batch in batches:
        ...
        progress.advance(len(batch))
    progress.finish("200,000 actions, 412,000 objects")   # one summary line

On a TTY the bar is redrawn in place at most 10 times a second; when the stream is not a TTY
(a log file, CI) one plain line is written every `interval` seconds (default 10), so logs stay
short. Nothing here knows what is being counted: it never prints values, only counts.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    def __init__(self, label: str, total: int | None = None, *, unit: str = "items",
                 stream: TextIO | None = None, interval: float = 10.0, tty: bool | None = None,
                 width: int = 30) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.tty = tty if tty is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0 if self.tty else self.started
        self._finished = False

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def rate(self) -> float:
        elapsed = self.elapsed
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last_draw >= (0.1 if self.tty else self.interval):
            self._last_draw = now
            self._draw()

    def line(self) -> str:
        """The current state as text (without bar): counts, percentage, rate, ETA."""
        rate = self.rate()
        parts = [f"{self.label}: {self.done:,}"]
        if self.total:
            parts[0] += f"/{self.total:,} {self.unit} ({min(100.0, 100 * self.done / self.total):.0f}%)"
        else:
            parts[0] += f" {self.unit}"
        parts.append(f"{rate:,.0f}/s")
        if self.total and rate > 0 and self.done < self.total:
            parts.append(f"ETA {format_duration((self.total - self.done) / rate)}")
        return ", ".join(parts)

    def _draw(self) -> None:
        if self.tty:
            bar = ""
            if self.total:
                filled = int(self.width * min(1.0, self.done / self.total))
                bar = "[" + "#" * filled + "-" * (self.width - filled) + "] "
            self.stream.write("\r\x1b[2K" + bar + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def finish(self, summary: str = "") -> str:
        """End with one summary line (also returned): what was done, in how long, how fast."""
        if self._finished:
            return ""
        self._finished = True
        text = (f"{self.label}: {summary + ' ' if summary else ''}{self.done:,} {self.unit} in "
                f"{self.elapsed:.1f} s ({self.rate():,.0f}/s)")
        self.stream.write(("\r\x1b[2K" if self.tty else "") + text + "\n")
        self.stream.flush()
        return text
