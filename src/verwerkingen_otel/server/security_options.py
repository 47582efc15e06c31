"""`serve` options of the hardening work (issue 11), kept in one place so cli.py and run.py
each need one line: token age, the Inzage record's bewaartermijn, proxy headers.

Imports nothing heavy: `verwerkingen-otel --help` must work without the server extra.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

MAX_TOKEN_AGE_DEFAULT = 3600  # the same as auth.MAX_TOKEN_AGE_SECONDS (checked by a test)
INZAGE_BEWAARTERMIJN_DEFAULT = "P1Y"  # the same as settings.DEFAULT_INZAGE_BEWAARTERMIJN


def add_security_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-token-age", default=str(MAX_TOKEN_AGE_DEFAULT), metavar="SECONDS",
                   help="a token expires at iat + this at the latest; exp - iat beyond it is refused "
                        f"(default {MAX_TOKEN_AGE_DEFAULT})")
    p.add_argument("--inzage-bewaartermijn", default=INZAGE_BEWAARTERMIJN_DEFAULT, metavar="DURATION",
                   help="bewaartermijn of the log's own record of each Inzage call "
                        f"(default {INZAGE_BEWAARTERMIJN_DEFAULT})")
    p.add_argument("--proxy-headers", action="store_true",
                   help="build links from Forwarded / X-Forwarded-Proto / X-Forwarded-Host "
                        "sent by a trusted proxy (see --forwarded-allow-ips)")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1", metavar="IPS",
                   help="comma list of proxy addresses or networks trusted with --proxy-headers, "
                        "or * (default 127.0.0.1)")


def security_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Settings keyword arguments from the options above; a bad value names its option."""
    from .proxy import check_allow_ips
    from .settings import check_inzage_bewaartermijn, check_max_token_age

    return {
        "max_token_age": check_max_token_age(str(args.max_token_age), option="--max-token-age"),
        "inzage_bewaartermijn": check_inzage_bewaartermijn(args.inzage_bewaartermijn, option="--inzage-bewaartermijn"),
        "proxy_headers": bool(args.proxy_headers),
        "forwarded_allow_ips": check_allow_ips(args.forwarded_allow_ips.split(","), option="--forwarded-allow-ips"),
    }


def export_security_settings(settings: Any) -> None:
    """For `--workers N`: the factory in each worker reads these back (settings.from_env)."""
    from .settings import (
        ENV_FORWARDED_ALLOW_IPS, ENV_INZAGE_BEWAARTERMIJN, ENV_MAX_TOKEN_AGE, ENV_PROXY_HEADERS,
    )

    os.environ[ENV_MAX_TOKEN_AGE] = str(settings.max_token_age)
    os.environ[ENV_INZAGE_BEWAARTERMIJN] = settings.inzage_bewaartermijn
    os.environ[ENV_PROXY_HEADERS] = "true" if settings.proxy_headers else "false"
    os.environ[ENV_FORWARDED_ALLOW_IPS] = ",".join(settings.forwarded_allow_ips)
