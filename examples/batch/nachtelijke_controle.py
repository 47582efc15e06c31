"""A nightly batch job (no HTTP): compare the addresses in our own records with the BRP.

    python examples/batch/nachtelijke_controle.py examples/batch/personen.csv

The whole run is one verwerking (`with vo.verwerking(...)`); each step is one verwerkingsactie
whose objects are the persons that step processed. Delivery, the log and the outbox come from
VERWERKINGEN_* (see README.md). At the end the job waits for every action to reach the log
(`shutdown(timeout)`); what did not stays in the outbox and goes out with the next run, and the
exit code says so.

The persons are official test BSNs; the last row of personen.csv is deliberately not a valid
BSN: it is recorded as a placeholder object (never the value), and the job carries on.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import verwerkingen_otel as vo

ACTIVITEIT = "3e9d1f6b-2a47-4c8e-b5d0-8f1a6c2e7b94"  # "Adresonderzoek", in the register of processings


@dataclass(frozen=True)
class Persoon:
    bsn: str
    naam: str
    adres_brp: str
    adres_eigen: str


def bsns_van(personen: list[Persoon]) -> list[str]:
    """The persons' BSNs: where each step's objects come from."""
    return [p.bsn for p in personen]


@vo.verwerkingsactie(
    actie_naam="Inlezen personenbestand",
    verwerkingsactiviteit_id=ACTIVITEIT,
    objecten=[vo.personen_uit_resultaat(bsns_van, soorten_gegevens=["Naam", "Adres"])],
)
def inlezen(path: Path) -> list[Persoon]:
    with path.open(newline="", encoding="utf-8") as f:
        return [Persoon(r["bsn"], r["naam"], r["adres_brp"], r["adres_eigen_administratie"])
                for r in csv.DictReader(f)]


@vo.verwerkingsactie(
    actie_naam="Vergelijken adres met BRP",
    verwerkingsactiviteit_id=ACTIVITEIT,
    objecten=[vo.persoon(from_args=bsns_van, soorten_gegevens=["Adres"])],
)
def vergelijken(personen: list[Persoon]) -> list[Persoon]:
    return [p for p in personen if p.adres_brp != p.adres_eigen]


@vo.verwerkingsactie(
    actie_naam="Klaarzetten brief adresonderzoek",
    verwerkingsactiviteit_id=ACTIVITEIT,
    objecten=[vo.persoon(from_args=bsns_van, betrokkenheid="Geadresseerde",
                         soorten_gegevens=["Naam", "Adres"])],
)
def brieven_klaarzetten(afwijkend: list[Persoon]) -> int:
    return len(afwijkend)  # a real job would write the letters here


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Nightly address check; one verwerking, one action per step.")
    parser.add_argument("personen", type=Path, help="CSV file: bsn,naam,adres_brp,adres_eigen_administratie")
    parser.add_argument("--wacht", type=float, default=30.0, metavar="SECONDS",
                        help="how long to wait at the end for the log to have every action (default 30)")
    args = parser.parse_args(argv)
    log = vo.configure()  # everything from VERWERKINGEN_*: a mistake stops the job before it starts
    with vo.verwerking(verwerking_naam="Nachtelijke adrescontrole", bewaartermijn="P1Y") as verwerking:
        print("stap 1/3: inlezen", flush=True)
        personen = inlezen(args.personen)
        print("stap 2/3: vergelijken met de BRP", flush=True)
        afwijkend = vergelijken(personen)
        print("stap 3/3: brieven klaarzetten", flush=True)
        brieven = brieven_klaarzetten(afwijkend)
    print(f"{len(personen)} personen gelezen, {len(afwijkend)} afwijkend, {brieven} brieven; "
          f"verwerking {verwerking.verwerking_id}", flush=True)
    if log.shutdown(timeout=args.wacht):  # flush: wait until the log has every action
        print("alle verwerkingsacties staan in het verwerkingenlog")
        return 0
    print("niet alle verwerkingsacties zijn afgeleverd: ze blijven in de outbox en gaan mee met de volgende run",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
