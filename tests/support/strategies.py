"""Hypothesis strategies for valid verwerkingsacties (shared by the model and mapping tests)."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from verwerkingen_otel.model import Vertrouwelijkheid, VerwerktObject, VerwerktSoortGegeven, Verwerkingsactie


def bsn_from(eight: int) -> str | None:
    """Complete 8 digits into a BSN passing the 11-test; None when no check digit fits."""
    digits = [int(c) for c in f"{eight:08d}"]
    total = sum(d * w for d, w in zip(digits, range(9, 1, -1)))
    check = total % 11
    if check == 10:
        return None
    text = f"{eight:08d}{check}"
    return None if text == "000000000" else text


bsns = st.integers(0, 99_999_999).map(bsn_from).filter(lambda b: b is not None)
names = st.text(max_size=242)
identificators = st.text(max_size=40)
uuids = st.uuids().map(str)
uris = st.from_regex(r"\Ahttps://[a-z]{1,20}\.example\.nl(/[a-z0-9_\-]{0,30}){0,4}\Z")
oins = st.from_regex(r"\A[0-9]{20}\Z")
durations = st.one_of(
    st.integers(0, 99).map(lambda y: f"P{y}Y"),
    st.tuples(st.integers(0, 30), st.integers(0, 11), st.integers(0, 28)).map(lambda t: f"P{t[0]}Y{t[1]}M{t[2]}D"),
    st.integers(1, 48).map(lambda h: f"PT{h}H"),
)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
tijdstippen = st.builds(
    lambda moment, tz: moment.replace(tzinfo=tz),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    offsets,
)
soorten = st.lists(names.map(VerwerktSoortGegeven), max_size=4).map(tuple)

objecten = st.builds(
    VerwerktObject,
    objecttype=st.just("persoon"),
    soort_object_id=st.just("BSN"),
    object_id=bsns,
    betrokkenheid=st.none() | names,
    verwerkte_soorten_gegevens=soorten,
)
other_objecten = st.builds(
    VerwerktObject,
    objecttype=st.just("persoon"),
    soort_object_id=st.sampled_from(["A-nummer", "klantnummer"]),
    object_id=identificators,
    betrokkenheid=st.none() | names,
    verwerkte_soorten_gegevens=soorten,
)


@st.composite
def afnemers(draw: st.DrawFn) -> tuple[str | None, str | None]:
    kind = draw(st.sampled_from(["none", "OIN", "BSN", "other"]))
    if kind == "none":
        return None, None
    if kind == "OIN":
        return "OIN", draw(oins)
    if kind == "BSN":
        return "BSN", draw(st.from_regex(r"\A[0-9]{9}\Z"))
    return draw(names.filter(lambda n: n.upper() not in ("OIN", "BSN"))), draw(identificators)


@st.composite
def acties(draw: st.DrawFn, vertrouwelijkheden: list[Vertrouwelijkheid] | None = None) -> Verwerkingsactie:
    soort_afnemer_id, afnemer_id = draw(afnemers())
    maybe = lambda strategy: draw(st.none() | strategy)  # noqa: E731
    return Verwerkingsactie(
        vertrouwelijkheid=draw(st.sampled_from(vertrouwelijkheden or list(Vertrouwelijkheid))),
        tijdstip=draw(tijdstippen),
        verwerkte_objecten=tuple(draw(st.lists(objecten | other_objecten, min_size=1, max_size=4))),
        actie_naam=maybe(names),
        handeling_naam=maybe(names),
        verwerking_naam=maybe(names),
        verwerking_id=maybe(uuids),
        verwerkingsactiviteit_id=maybe(uuids),
        verwerkingsactiviteit_url=maybe(uris),
        bewaartermijn=maybe(durations),
        uitvoerder=maybe(oins),
        systeem=maybe(names),
        gegevensbron=maybe(names),
        gebruiker=maybe(identificators),
        soort_afnemer_id=soort_afnemer_id,
        afnemer_id=afnemer_id,
        verwerkingsactiviteit_id_afnemer=maybe(uuids),
        verwerkingsactiviteit_url_afnemer=maybe(uris),
        verwerking_id_afnemer=maybe(uuids),
    )


vertrouwelijkheden = st.none() | st.sampled_from(["normaal", "vertrouwelijk", "NORMAAL", "Vertrouwelijk"])
annotations = st.fixed_dictionaries(
    {},
    optional={
        "actie_naam": names,
        "handeling_naam": names,
        "verwerking_naam": names,
        "verwerking_id": uuids,
        "verwerkingsactiviteit_id": uuids,
        "verwerkingsactiviteit_url": uris,
        "vertrouwelijkheid": vertrouwelijkheden,
        "bewaartermijn": durations,
    },
)
"""Every argument of `verwerkingsactie(...)` but the objects, each present or not."""
