"""The collector and its OpenAPI document agree: schemathesis generates requests from the
document and checks every answer (no 5xx, documented status codes and bodies, valid requests
accepted, invalid ones refused). The events go to a real Kafka topic."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from analytics_site.wsgi import application

# A batch over the size limit is refused with 413, which schemathesis does not expect by default.
CONFIG = SchemathesisConfig.from_str(
    """
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "413", "415", "429"]
"""
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG).include(
    path="/api/v1/events"
)


@pytest.fixture(autouse=True)
def unlimited_failed_authentication(settings) -> None:
    # Schemathesis sends many requests with made-up keys and expects 401 for each: the limit on
    # failed authentication per client address (429 once spent) is tested in test_abuse_limits.
    settings.AUTH_FAILURE_RATE_LIMIT = "1000000/s"


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_collector_answers_as_its_document_says(case, transactional_db, api_key, raw_topic):
    case.call_and_validate(headers={"X-Api-Key": api_key})
