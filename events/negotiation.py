"""Content negotiation of the collector: DRF's, without parsing the usual ``Accept: */*``."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class CollectorContentNegotiation(DefaultContentNegotiation):
    """SDKs send no Accept header, or ``*/*``; DRF would pick the first renderer for those too.

    Any other header, or a query string (which may hold ``?format=``), goes through DRF.
    """

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        meta = request.META
        usual = meta.get("HTTP_ACCEPT", "*/*") == "*/*" and not meta.get("QUERY_STRING")
        if usual and not format_suffix:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
