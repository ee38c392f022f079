"""How the OpenAPI document describes the collector's API-key authentication, so that the
interactive docs (/api/docs/) can send authorized requests."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ClientAPIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "events.authentication.ClientAPIKeyAuthentication"
    name = "ClientApiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Api-Key",
            "description": (
                "The client app's API key (Events > Client API keys in the admin). The same key "
                "is also taken as `Authorization: Api-Key <key>` or the `api_key` query parameter."
            ),
        }


def require_collector_body(result: dict, generator, request, public) -> dict:
    """drf-spectacular leaves a request body given as raw JSON Schema optional; the
    collector's is not."""
    operation = result["paths"]["/api/v1/events"]["post"]
    operation["requestBody"]["required"] = True
    return result
