"""The API fuzzed from its own served OpenAPI document with schemathesis (issue 16).

Every operation of /api/v1/openapi.json, with data generated from its schemas, both valid
(positive) and invalid (negative: wrong types, unknown fields, missing fields, bad query
strings), sent with a read-write key. Each answer is checked by schemathesis: never a server
error, a status the document declares, the declared content type, headers and body schema; and
an invalid request is always refused. (Named test_fuzz_*: what the fuzz types, such as a
business name, may look like anything, so the end-of-test card-number scan skips it as it
skips the other fuzz tests; a generated value that looks like a card number is not sent, so
the log scan stays meaningful.)
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import has_card_number
from testkit.api import auth, make_key
from testkit.quick_connections import quick_connections

pytestmark = pytest.mark.slow  # fuzz: left out of `make test-fast`

EXAMPLES = 100  # per operation and mode
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(app, database_url, smtp, record_figure):
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    app.config["RESEND_RATE_LIMIT"] = "100000 per hour"
    secret = make_key(app)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # Every request carries the key (below); leaving it out is the isolation tests' business.
    schema.config.generation.update(with_security_parameters=False)
    statuses: Counter = Counter()
    sent = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8
    with quick_connections(database_url):
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])

                @given(case=operation.as_strategy(generation_mode=mode))
                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                )
                def run(case):
                    nonlocal sent
                    typed = json.dumps([case.body, case.query, case.path_parameters, case.headers], default=str)
                    if has_card_number(typed):
                        return
                    # (The WSGI transport does not undo Content-Encoding as an HTTP client would.)
                    response = case.call_and_validate(
                        headers=auth(secret, **{"Accept-Encoding": "identity"}),
                        checks=checks,  # noqa: B023 (run() runs before checks changes)
                    )
                    statuses[response.status_code] += 1
                    sent += 1

                try:
                    run()
                except Unsatisfiable:
                    # Nothing to make invalid: an operation without parameters or body (GET /plans).
                    assert mode is GenerationMode.NEGATIVE and not operation.body and not operation.query
                    continue
    assert statuses[500] == 0
    assert (
        statuses[200] > 0 and statuses[422] > 0
    )  # (random text is rarely a valid phone, email and address: creating is test_api.py's)
    summary = ", ".join(f"{count} × {status}" for status, count in sorted(statuses.items()))
    record_figure(
        "api fuzz (schemathesis)",
        f"{sent} generated requests over {len(operations)} operations (valid and invalid data, "
        f"read-write key): 0 server errors, 0 answers outside the document ({summary})",
    )
