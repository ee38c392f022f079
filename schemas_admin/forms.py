"""Admin forms for contracts, with messages a product manager can act on."""

import json

from django import forms

from . import avro, versions
from .models import ContractVersion, EventContract

SCHEMA_HELP = (
    'The Avro record for this event, as JSON. Every field needs a "doc"; fields added after '
    'the first version need a "default".'
)


class ContractVersionForm(forms.ModelForm):
    schema = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "style": "font-family: monospace"}),
        help_text=SCHEMA_HELP,
    )

    class Meta:
        model = ContractVersion
        fields = ["contract", "schema", "changelog"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        schema = self.initial.get("schema")
        if schema is not None and not isinstance(schema, str):
            self.initial["schema"] = json.dumps(schema, indent=2)

    def clean_schema(self) -> object:
        try:
            return avro.loads(self.cleaned_data["schema"])
        except avro.InvalidSchema as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict:
        cleaned = super().clean()
        contract: EventContract | None = cleaned.get("contract") or getattr(
            self.instance, "contract", None
        )
        if contract is not None and "schema" in cleaned:
            number = self.instance.version if self.instance.pk else None
            for problem in versions.style_problems(contract, cleaned["schema"], number):
                self.add_error("schema", problem)
        return cleaned


def starting_schema(contract: EventContract) -> str:
    """What a new draft starts from: the latest version, or an empty record."""
    latest = contract.versions.order_by("-version").first()
    schema = (
        latest.schema
        if latest
        else {
            "type": "record",
            "name": avro.record_name(contract.event_name),
            "namespace": contract.namespace,
            "doc": contract.description,
            "fields": [],
        }
    )
    return json.dumps(schema, indent=2)
