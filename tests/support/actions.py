"""A valid verwerkingsactie for client and delivery tests, numbered so each one is told apart."""

from __future__ import annotations

import datetime as dt
import uuid

from verwerkingen_otel.model import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie

__all__ = ["make_actie"]


def make_actie(activiteit: str, *, bsn: str = "999993653", n: int = 0,
               vertrouwelijkheid: str = "normaal", **changes: object) -> Verwerkingsactie:
    actie = Verwerkingsactie(
        vertrouwelijkheid=Vertrouwelijkheid(vertrouwelijkheid),
        tijdstip=dt.datetime(2024, 4, 5, 14, 35, 42, n % 1_000_000, tzinfo=dt.timezone.utc),
        verwerkte_objecten=(VerwerktObject("persoon", "BSN", bsn, "Getuige",
                                           (VerwerktSoortGegeven("Naam"),)),),
        actie_naam=f"Raadplegen persoon {n}",
        verwerking_id=str(uuid.uuid4()),
        verwerkingsactiviteit_id=activiteit,
        bewaartermijn="P10Y",
    )
    return actie.with_values(**changes) if changes else actie
