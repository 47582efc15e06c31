"""The progress helper: a bar on a terminal, periodic plain lines otherwise, one summary line."""

from __future__ import annotations

import io
import time

from verwerkingen_otel.progress import Progress, format_duration


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_tty() -> None:
    out = io.StringIO()
    p = Progress("purge", total=1000, unit="actions", stream=out, interval=0.0)
    p.advance(250)
    p.advance(250)
    summary = p.finish("12 batches;")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("purge: 250/1,000 actions (25%), ") and "/s" in lines[0] and "ETA" in lines[0]
    assert lines[1].startswith("purge: 500/1,000 actions (50%), ")
    assert lines[-1] == summary and summary.startswith("purge: 12 batches; 500 actions in ")
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    assert p.finish() == ""  # once


def test_no_line_before_the_interval() -> None:
    out = io.StringIO()
    p = Progress("generate", total=10, stream=out, interval=3600)
    for _ in range(10):
        p.advance()
    assert out.getvalue() == ""
    p.finish()
    assert out.getvalue().count("\n") == 1


def test_a_bar_on_a_terminal() -> None:
    out = Tty()
    p = Progress("generate", total=100, unit="actions", stream=out, width=10)
    p._last_draw = time.monotonic() - 1  # noqa: SLF001 - force the next draw
    p.advance(50)
    assert out.getvalue().startswith("\r\x1b[2K[#####-----] generate: 50/100 actions (50%)")
    p.finish()
    assert out.getvalue().endswith(" actions in " + out.getvalue().rsplit(" actions in ", 1)[1])
    assert out.getvalue().endswith("/s)\n")


def test_without_total_and_durations() -> None:
    out = io.StringIO()
    p = Progress("inzage", stream=out, interval=0.0)
    p.advance(3)
    assert out.getvalue().startswith("inzage: 3 items, ")
    assert (format_duration(59.6), format_duration(61), format_duration(3725)) == ("1:00", "1:01", "1:02:05")
