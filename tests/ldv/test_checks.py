"""What the log refuses in a logregel, one rule at a time, each reason naming the field only."""

from __future__ import annotations

import dataclasses

import pytest

from verwerkingen_otel.ldv import Logregel, logregel_problems

GOOD = Logregel(
    trace_id="0af7651916cd43dd8448eb211c80319c", span_id="b7ad6b7169203331", parent_span_id=None,
    name="Raadplegen persoon", start_time_ns=1_700_000_000_000_000_000, end_time_ns=1_700_000_000_100_000_000,
    attributes={"dpl.core.processing_activity_id": "urn:uuid:5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
                "dpl.core.data_subject_id": "ab" * 32, "dpl.core.data_subject_id_type": "BSN"},
)


def with_attributes(**changes: object) -> Logregel:
    attributes = {**GOOD.attributes, **{k.replace("__", "."): v for k, v in changes.items()}}
    return dataclasses.replace(GOOD, attributes={k: v for k, v in attributes.items() if v is not None})


def test_a_good_record_passes() -> None:
    assert logregel_problems(GOOD) == []


@pytest.mark.parametrize(("record", "reasons"), [
    (dataclasses.replace(GOOD, trace_id="0" * 32), ["trace_id must be 16 bytes, not all zero"]),
    (dataclasses.replace(GOOD, span_id="abc"), ["span_id must be 8 bytes, not all zero"]),
    (dataclasses.replace(GOOD, parent_span_id="0" * 16), ["parent_span_id must be empty or 8 bytes, not all zero"]),
    (dataclasses.replace(GOOD, name=" "), ["name is required"]),
    (dataclasses.replace(GOOD, name="x" * 1001), ["name must be at most 1000 characters"]),
    (dataclasses.replace(GOOD, start_time_ns=0), ["start_time and end_time are required"]),
    (dataclasses.replace(GOOD, end_time_ns=1), ["end_time must not be before start_time"]),
    (dataclasses.replace(GOOD, end_time_ns=2**64 - 1), ["start_time and end_time must be before the year 2262"]),
    (dataclasses.replace(GOOD, status="Fout"), ["status must be Unset, Ok or Error"]),
    (with_attributes(dpl__core__data_subject_id="999993653"),
     ["dpl.core.data_subject_id is a plain BSN: it must be pseudonymised"]),
    (with_attributes(dpl__core__data_subject_id=" 999993653", dpl__core__data_subject_id_type="bsn"),
     ["dpl.core.data_subject_id is a plain BSN: it must be pseudonymised"]),
    (with_attributes(dpl__core__data_subject_id_type=None),
     ["dpl.core.data_subject_id is set without dpl.core.data_subject_id_type"]),
    (with_attributes(dpl__core__data_subject_id=None),
     ["dpl.core.data_subject_id_type is set without dpl.core.data_subject_id"]),
    (with_attributes(dpl__core__processing_activity_id=None),
     ["dpl.core.processing_activity_id is required when personal data is processed"]),
    (with_attributes(dpl__core__processing_activity_id="geen uri"),
     ["dpl.core.processing_activity_id must be an absolute URI"]),
    (with_attributes(dpl__core__foreign_operation__processor=""),
     ["dpl.core.foreign_operation.processor must be a non-empty string"]),
    (with_attributes(dpl__core__user_id="u1"),
     ["dpl.core.user_id was removed from the standard and must not be written"]),
    (with_attributes(dpl__lezen__x="y"),
     ["dpl.lezen.x is not a dpl.core attribute (extensions are not adopted)"]),
    (with_attributes(dpl__core__data_subject_id_type=7),
     ["dpl.core.data_subject_id_type must be a non-empty string"]),
])
def test_each_rule(record: Logregel, reasons: list[str]) -> None:
    assert logregel_problems(record) == reasons


def test_a_nine_digit_id_of_another_type_or_failing_the_11_test_is_not_a_bsn() -> None:
    assert logregel_problems(with_attributes(dpl__core__data_subject_id="999993653",
                                             dpl__core__data_subject_id_type="personeelsnummer")) == []
    assert logregel_problems(with_attributes(dpl__core__data_subject_id="123456789")) == []
