"""The schema objects built for every row of a page without their dataclass constructors are the
objects the constructors build."""

from __future__ import annotations

import dataclasses
from collections import namedtuple
from datetime import UTC, datetime

from app.schema.connection import Edge, _edge
from app.schema.types import VerificationSession

Row = namedtuple(
    "Row", "id created client_reference_id livemode metadata_ status type redaction_status"
)
ROW = Row(
    id="vs_1NuNAILkdIwHu7ixh7OtGMLw",
    created=datetime(2026, 3, 1, 12, 30, 45, 123457, tzinfo=UTC),
    client_reference_id="user_42",
    livemode=False,
    metadata_={"order": "o_1"},
    status="requires_input",
    type="document",
    redaction_status=None,
)


def test_a_session_from_a_row_is_the_one_its_constructor_builds() -> None:
    # when
    built = VerificationSession.from_row(ROW, public_base_url="https://gw.example")
    constructed = VerificationSession(
        id=ROW.id,
        object="identity.verification_session",
        client_reference_id=ROW.client_reference_id,
        created=ROW.created,
        livemode=ROW.livemode,
        metadata=ROW.metadata_,
        row=ROW,
        public_base_url="https://gw.example",
    )
    # then: equal, with exactly the attributes the constructor sets (a field added to the
    # type and not to from_row fails here)
    assert built == constructed
    init_fields = {f.name for f in dataclasses.fields(VerificationSession) if f.init}
    assert set(vars(built)) == set(vars(constructed)) == init_fields


def test_an_edge_is_the_one_its_constructor_builds() -> None:
    node = VerificationSession.from_row(ROW, public_base_url="https://gw.example")
    built, constructed = _edge("cursor-1", node), Edge(cursor="cursor-1", node=node)
    assert built == constructed and type(built) is type(constructed)
    assert set(vars(built)) == {f.name for f in dataclasses.fields(Edge) if f.init}
