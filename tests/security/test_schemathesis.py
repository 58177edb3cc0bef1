"""Property-based API testing: schemathesis against the OpenAPI document, as every role.

Bounded and seeded: a few derandomised examples per operation and role (hypothesis
``derandomize``), so a run takes well under a minute and a failure reproduces. Checked: no
server error (5xx), and every status code and content type is one the document declares —
which holds only because :mod:`thecal.api.errors` documents the error answers.

The clinic here is module-wide (one database for all roles); what one role's examples change
(a deactivated login, say) only ever turns another's answers into documented refusals.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from thecal.app import create_app
from thecal.service import Clinic, FrozenClock, Settings, issue_api_token
from thecal.service.testing import NOW, PASSWORD, build_world

ROLES = ("anonymous", "patient", "caregiver", "nurse", "pharmacist", "clinician",
         "administrator")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
EXAMPLES = 4  # per operation and role: ~30 operations x 7 roles x 4 = ~850 requests


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    path = Path(tmp_path_factory.mktemp("schemathesis")) / "clinic.sqlite3"
    clock = FrozenClock(NOW)
    clinic = Clinic.open(Settings(database_url=f"sqlite:///{path}",
                                  rate_per_source=(1e9, 1e9), rate_per_credential=(1e9, 1e9),
                                  rate_sign_in=(1e9, 1e9)), clock=clock)
    world = build_world(clinic, clock)
    tokens = {name: issue_api_token(clinic, name, PASSWORD)[0] for name in world.users}
    app = create_app(clinic.settings, clinic=clinic)
    try:
        yield app, tokens
    finally:
        clinic.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzzed: tuple[Any, dict[str, str]]) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzzed[0])


@pytest.mark.parametrize("role", ROLES)
def test_api_conforms_for_every_role(role: str, api_schema: Any,
                                     fuzzed: tuple[Any, dict[str, str]]) -> None:
    tokens = fuzzed[1]
    headers = {"Authorization": f"Bearer {tokens[role]}"} if role in tokens else {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 25
    failures: list[str] = []
    statuses: list[int] = []
    for operation in operations:

        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def conforms(case: Any) -> None:
            statuses.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

        try:
            conforms()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {str(exc).strip()[:800]}")
    assert not failures, "\n\n".join(failures)
    assert len(statuses) >= len(operations)  # every operation was called
    if role != "anonymous":
        assert any(200 <= code < 300 for code in statuses), role
