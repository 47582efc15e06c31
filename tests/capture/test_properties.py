"""Property-based: whatever valid annotation, verwerking and caller, the body follows the rules."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import verwerkingen_otel as vo
from verwerkingen_otel.model import parse_verwerkingsactie
from verwerkingen_otel.testing import RecordedVerwerkingen

from tests.support.strategies import annotations, bsns, durations, names, oins, uris, uuids, vertrouwelijkheden


@settings(max_examples=120, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    annotation=annotations,
    context=st.none() | st.fixed_dictionaries(
        {},
        optional={
            "verwerking_id": uuids,
            "verwerking_naam": names,
            "vertrouwelijkheid": vertrouwelijkheden,
            "bewaartermijn": durations,
        },
    ),
    caller=st.none() | st.builds(
        vo.Afnemer,
        oin=st.none() | oins,
        verwerkingsactiviteit_id=st.none() | uuids,
        verwerkingsactiviteit_url=st.none() | uris,
        verwerking_id=st.none() | uuids,
        vertrouwelijkheid=st.none() | st.sampled_from(list(vo.Vertrouwelijkheid)),
        bewaartermijn=st.none() | durations,
    ),
    persons=st.lists(st.one_of(bsns, bsns.map(int)), min_size=1, max_size=5),
)
def test_recorded_body_follows_the_precedence_rules(
    verwerkingen: RecordedVerwerkingen,
    annotation: dict[str, Any],
    context: dict[str, Any] | None,
    caller: vo.Afnemer | None,
    persons: list[str | int],
) -> None:
    verwerkingen.clear()

    @vo.verwerkingsactie(**annotation, objecten=[vo.persoon("bsns", betrokkenheid="Betrokkene")])
    def verwerk(bsns: list[str | int]) -> None:
        pass

    with vo.use_afnemer(caller):
        if context is None:
            verwerk(persons)
        else:
            with vo.verwerking(**context) as v:
                verwerk(persons)
    (body,) = verwerkingen.acties
    parse_verwerkingsactie(body)  # a valid POST body

    ctx = context or {}
    sources = [annotation.get("vertrouwelijkheid"), ctx.get("vertrouwelijkheid"),
               caller.vertrouwelijkheid.value if caller and caller.vertrouwelijkheid else None]
    expected_v = "vertrouwelijk" if any(s and s.lower() == "vertrouwelijk" for s in sources) else "normaal"
    assert body["vertrouwelijkheid"] == expected_v
    expected_b = annotation.get("bewaartermijn") or ctx.get("bewaartermijn") or (caller and caller.bewaartermijn)
    assert body.get("bewaartermijn") == (expected_b or None)
    if "verwerking_id" in annotation:
        assert body["verwerkingId"] == annotation["verwerking_id"]
    elif context is not None:
        assert body["verwerkingId"] == v.verwerking_id
        if "verwerking_id" in ctx:
            assert body["verwerkingId"] == ctx["verwerking_id"]
    # an empty name counts as unset
    assert body.get("verwerkingNaam") == (annotation.get("verwerking_naam") or ctx.get("verwerking_naam") or None)
    for key, api in (("actie_naam", "actieNaam"), ("handeling_naam", "handelingNaam"),
                     ("verwerkingsactiviteit_id", "verwerkingsactiviteitId"),
                     ("verwerkingsactiviteit_url", "verwerkingsactiviteitUrl")):
        assert body.get(api) == (annotation.get(key) or None)
    afnemer = caller or vo.Afnemer()
    assert body.get("afnemerId") == afnemer.oin
    assert body.get("soortAfnemerId") == ("OIN" if afnemer.oin else None)
    assert body.get("verwerkingsactiviteitIdAfnemer") == afnemer.verwerkingsactiviteit_id
    assert body.get("verwerkingsactiviteitUrlAfnemer") == afnemer.verwerkingsactiviteit_url
    assert body.get("verwerkingIdAfnemer") == afnemer.verwerking_id
    expected_objects = list(dict.fromkeys(f"{p:09d}" if isinstance(p, int) else p for p in persons))
    assert [o["objectId"] for o in body["verwerkteObjecten"]] == expected_objects
