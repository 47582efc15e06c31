"""Hypothesis strategies for the LDV tests: actions whose persons' BSNs are also hidden in free text."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from verwerkingen_otel.model import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie


def bsn_from(eight: int) -> str | None:
    """Complete 8 digits into a BSN passing the 11-test; None when no check digit fits."""
    digits = [int(c) for c in f"{eight:08d}"]
    check = sum(d * w for d, w in zip(digits, range(9, 1, -1))) % 11
    text = f"{eight:08d}{check}"
    return None if check == 10 or text == "000000000" else text


bsns = st.integers(0, 99_999_999).map(bsn_from).filter(lambda b: b is not None)
uuids = st.uuids().map(str)
oins = st.from_regex(r"\A[0-9]{20}\Z")
uris = st.from_regex(r"\Ahttps://[a-z]{1,12}\.example\.nl(/[a-z0-9_\-]{0,12}){0,3}\Z")
tijdstippen = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1)).map(
    lambda d: d.replace(tzinfo=dt.timezone.utc))


@st.composite
def acties_with_bsns(draw: st.DrawFn) -> tuple[Verwerkingsactie, list[str]]:
    """(an action, every BSN in it): its persons', a BSN afnemer's, and BSNs mixed into free text."""
    persons = draw(st.lists(bsns, min_size=1, max_size=4))
    extra = draw(st.lists(bsns, max_size=2))
    every = persons + extra

    def text(max_size: int = 60) -> str:
        # a BSN in free text stands as a number of its own (inside a longer digit run it is none);
        # the persons' own identifiers are hidden even there
        parts = draw(st.lists(st.text(max_size=12) | st.sampled_from(every).map(lambda b: f" {b} ")
                              | st.sampled_from(persons), max_size=4))
        return "".join(parts)[:max_size] if draw(st.booleans()) else "".join(parts)

    def maybe(value_fn):  # noqa: ANN001, ANN202
        return value_fn() if draw(st.booleans()) else None

    objecten = tuple(
        VerwerktObject(
            objecttype="persoon", soort_object_id=draw(st.sampled_from(["BSN", "bsn", "Bsn"])), object_id=bsn,
            betrokkenheid=maybe(text),
            verwerkte_soorten_gegevens=tuple(VerwerktSoortGegeven(text()) for _ in range(draw(st.integers(0, 2)))),
        )
        for bsn in persons
    )
    kind = draw(st.sampled_from(["none", "OIN", "BSN"]))
    afnemer = {"none": None, "OIN": draw(oins), "BSN": draw(st.sampled_from(every))}[kind]
    actie = Verwerkingsactie(
        vertrouwelijkheid=draw(st.sampled_from(list(Vertrouwelijkheid))),
        tijdstip=draw(tijdstippen),
        verwerkte_objecten=objecten,
        actie_naam=maybe(text), handeling_naam=maybe(text), verwerking_naam=maybe(text),
        verwerking_id=maybe(lambda: draw(uuids)), verwerkingsactiviteit_id=maybe(lambda: draw(uuids)),
        verwerkingsactiviteit_url=maybe(lambda: draw(uris) + "/" + draw(st.sampled_from(every))),
        bewaartermijn=maybe(lambda: "P10Y"), uitvoerder=maybe(lambda: draw(oins)),
        systeem=maybe(text), gegevensbron=maybe(text), gebruiker=maybe(lambda: draw(st.sampled_from(every))),
        soort_afnemer_id=None if kind == "none" else kind, afnemer_id=afnemer,
        verwerkingsactiviteit_id_afnemer=maybe(lambda: draw(uuids)),
        verwerkingsactiviteit_url_afnemer=maybe(lambda: draw(uris) + "?bsn=" + draw(st.sampled_from(every))),
        verwerking_id_afnemer=maybe(lambda: draw(uuids)),
    )
    return actie, every
