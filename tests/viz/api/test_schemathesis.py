"""Schemathesis against the API's own OpenAPI document, as an admin: no server errors.

Every operation of the document gets generated requests (valid and invalid ones); the
``not_a_server_error`` check fails on any 5xx.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error

from tests.viz.conftest import Api

pytestmark = pytest.mark.integration

EXAMPLES = 25


def test_no_server_errors_in_any_operation(api: Api) -> None:
    schema = schemathesis.openapi.from_url(f"{api.base}/openapi.json")
    headers = {"Authorization": f"Bearer {api.tokens['admin']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Case) -> None:
            response = case.call(base_url=api.base, headers=headers, timeout=30)
            case.validate_response(response, checks=[not_a_server_error])

        check()
