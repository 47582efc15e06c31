"""No plain BSN in any byte the ldv exporter hands the official OTLP encoder, whatever the action:
generated actions (BSNs hidden in every field) through the mapping, the SDK spans we build and
OpenTelemetry's own protobuf encoding — exactly the bytes the OTLP/HTTP exporter sends."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from tests.ldv.strategies import acties_with_bsns
from verwerkingen_otel.delivery.exporters import readable_span
from verwerkingen_otel.ldv import ActieSpan, LogregelMapping, PseudonymKey
from verwerkingen_otel.model import Verwerkingsactie

MAPPING = LogregelMapping(PseudonymKey.from_bytes(b"protobuf-bytes-test-key-0123456789ab"), service_version="1")
SPAN = ActieSpan("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", None, 1_700_000_000_000_000_000,
                 1_700_000_000_100_000_000)
SCOPE = InstrumentationScope("verwerkingen-otel.ldv")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acties_with_bsns())
def test_no_plain_bsn_in_the_protobuf_the_exporter_sends(case: tuple[Verwerkingsactie, list[str]]) -> None:
    actie, bsns = case
    regels = MAPPING.logregels(actie, SPAN, error_type="app.Fout")
    data = encode_spans([readable_span(r, {}, SCOPE) for r in regels]).SerializeToString()
    for value in (actie.uitvoerder, actie.afnemer_id if actie.soort_afnemer_id == "OIN" else None,
                  actie.verwerking_id, actie.verwerkingsactiviteit_id, actie.verwerking_id_afnemer,
                  actie.verwerkingsactiviteit_id_afnemer):
        if value:  # a BSN inside an OIN or uuid the action was given is no leak of a person
            data = data.replace(value.encode(), b"")
    assert data  # the records are there
    for bsn in bsns:
        assert bsn.encode() not in data
