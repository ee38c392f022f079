"""``GET /api/v1/codegen/<language>[/<event>]``: the tracking code as a zip, for client builds.

Staff users authenticate with HTTP Basic (a CI service account; members of the analysts group
are staff with read-only rights, which is all a build needs) or their admin session. A client
app's API key is not accepted: it ships inside every app binary, so it is fit for sending
events and for nothing else; and contracts do not depend on the events app that owns the keys.
"""

from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from analytics_site.passwords import BasicAuthentication

from .bundle import LANGUAGES, OPTIONS, Bundle, ContractNotFound, language_problem, released_bundle
from .schema import CodegenError


class InvalidOption(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_option"


class ArchiveNegotiation(BaseContentNegotiation):
    """The archive is the only representation; errors are JSON whatever ``Accept`` says."""

    def select_parser(self, request: Request, parsers: list):
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list, format_suffix=None):
        return renderers[0], renderers[0].media_type


def archive_response(request: HttpRequest, bundle: Bundle, event_name: str | None) -> HttpResponse:
    """The bundle's zip with its ETag, or 304 when ``If-None-Match`` names that ETag."""
    response = get_conditional_response(request, etag=bundle.etag)
    if response is None:
        response = HttpResponse(bundle.zip(), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{bundle.filename(event_name)}"'
    response["ETag"] = bundle.etag
    response["Cache-Control"] = "private, no-cache"
    return response


DOCUMENTATION = dict(
    summary="Tracking code of the published contracts, as a zip",
    description=(
        f"`language`: one of {', '.join(LANGUAGES)}. `/api/v1/codegen/{{language}}` has every "
        "published contract, `.../{language}/{event_name}` that contract only. The zip holds "
        "the generated files and `codegen.json` (the contract versions and this response's "
        "ETag). Send `If-None-Match` with the ETag to get `304 Not Modified` while nothing "
        "changed. Authenticate as a staff user with HTTP Basic (or an admin session)."
    ),
    parameters=[
        OpenApiParameter(
            "package", str, description="Kotlin only: the package (default analytics.tracking)"
        )
    ],
    responses={
        (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, "The zip."),
        304: OpenApiResponse(description="Unchanged since the ETag in If-None-Match."),
        400: OpenApiResponse(description="An invalid option, such as a bad package name."),
        401: OpenApiResponse(description="No valid credentials."),
        403: OpenApiResponse(description="Not a staff user."),
        404: OpenApiResponse(description="Unknown language, or no such published contract."),
        429: OpenApiResponse(description="Too many failed sign-ins from this address."),
    },
)


class CodegenView(APIView):
    """Typed tracking code generated from the published contracts."""

    authentication_classes = [BasicAuthentication, SessionAuthentication]
    permission_classes = [IsAdminUser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = ArchiveNegotiation

    @extend_schema(operation_id="codegen_bundle", **DOCUMENTATION)
    def get(self, request: Request, language: str, event_name: str | None = None) -> HttpResponse:
        problem = language_problem(language)
        if problem:
            raise NotFound(problem)
        options = {name: request.query_params.get(name, "") for name in OPTIONS.get(language, {})}
        try:
            bundle = released_bundle(language, event_name, options)
        except ContractNotFound as exc:
            raise NotFound(str(exc)) from exc
        except CodegenError as exc:
            raise InvalidOption(str(exc)) from exc
        return archive_response(request, bundle, event_name)


class ContractCodegenView(CodegenView):
    """The tracking code of one published contract."""

    @extend_schema(operation_id="codegen_contract", **DOCUMENTATION)
    def get(self, request: Request, language: str, event_name: str | None = None) -> HttpResponse:
        return super().get(request, language, event_name)
