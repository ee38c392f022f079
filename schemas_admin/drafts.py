"""Draft contracts from sample payloads, under the admin's own rules, for a PM to refine there.

A new event gets a contract and a first draft version; an existing contract gets a draft of its
next version with the fields the samples carry. Both are checked by the admin's forms (names,
topics, Avro style rules) and recorded in the contract's history, exactly as if a product
manager had typed them in the admin.
"""

import json
from dataclasses import dataclass

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from . import history, versions
from .forms import ContractVersionForm
from .inference import Inferred, extend, infer
from .models import ContractVersion, EventContract
from .permissions import editable_teams

CHANGELOG = "Drafted from {count} unmatched sample events; review every field and its doc."


class DraftRefused(Exception):
    """The draft cannot be made; ``problems`` say why, in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class NewContractForm(forms.ModelForm):
    """What a new contract needs besides its schema; the same fields and checks as the admin."""

    class Meta:
        model = EventContract
        fields = ["event_name", "namespace", "team", "description", "output_topic"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user: AbstractBaseUser, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = editable_teams(user)
        self.fields["event_name"].disabled = True


def new_contract_initial(event_name: str) -> dict:
    namespace = (
        EventContract.objects.values_list("namespace", flat=True).order_by("-created_at").first()
    )
    return {
        "event_name": event_name,
        "namespace": namespace or "com.example.events",
        "output_topic": f"events.matched.{event_name}",
    }


@dataclass
class Draft:
    version: ContractVersion
    notes: list[str]


def preview_new(event_name: str, namespace: str, samples: list[dict]) -> Inferred:
    return infer(samples, event_name=event_name, namespace=namespace)


def preview_next(contract: EventContract, samples: list[dict]) -> Inferred | None:
    """The next version's schema, or None when the contract has no version to extend."""
    latest = contract.versions.order_by("-version").first()
    return None if latest is None else extend(latest.schema, samples)


def pending_draft(contract: EventContract) -> ContractVersion | None:
    """A draft the contract already has: refine that one rather than start another."""
    return contract.versions.filter(status=ContractVersion.Status.DRAFT).first()


def draft_new_contract(form: NewContractForm, samples: list[dict], user) -> Draft:
    """Create the contract of ``form`` and its first draft, inferred from ``samples``."""
    if not form.is_valid():
        raise DraftRefused([f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()])
    with transaction.atomic():
        contract = form.save()
        history.record(
            contract, "contract created", user=user, details="Drafted from unmatched samples."
        )
        inferred = preview_new(contract.event_name, contract.namespace, samples)
        if contract.description:
            inferred.schema["doc"] = contract.description
        version = _save_draft(contract, inferred, len(samples), user)
    return Draft(version, inferred.notes)


def draft_next_version(contract: EventContract, samples: list[dict], user) -> Draft:
    """A draft of ``contract``'s next version with the fields ``samples`` carry."""
    existing = pending_draft(contract)
    if existing is not None:
        raise DraftRefused(
            [f"Version {existing.version} of {contract} is a draft already: refine that one."]
        )
    inferred = preview_next(contract, samples)
    if inferred is None:
        raise DraftRefused([f"{contract} has no version yet: write its first one in the admin."])
    with transaction.atomic():
        version = _save_draft(contract, inferred, len(samples), user)
    return Draft(version, inferred.notes)


def _save_draft(
    contract: EventContract, inferred: Inferred, count: int, user: AbstractBaseUser
) -> ContractVersion:
    form = ContractVersionForm(
        data={
            "contract": contract.pk,
            "schema": json.dumps(inferred.schema, indent=2),
            "changelog": CHANGELOG.format(count=count),
        }
    )
    form.fields["contract"].queryset = EventContract.objects.filter(pk=contract.pk)
    if not form.is_valid():
        problems = [error for errors in form.errors.values() for error in errors]
        raise DraftRefused(problems)
    version = form.save(commit=False)
    version.version = versions.next_number(contract)
    version.author = user
    version.save()
    history.record(
        contract, "draft created", user=user, version=version, details="schema, changelog"
    )
    return version
