"""The change history of contracts: one row per thing someone did."""

from django.contrib.auth.models import AbstractBaseUser

from .models import ContractChange, ContractVersion, EventContract


def record(
    contract: EventContract,
    action: str,
    *,
    user: AbstractBaseUser | None = None,
    version: ContractVersion | None = None,
    details: str = "",
) -> None:
    if user is not None and not user.is_authenticated:
        user = None
    ContractChange.objects.create(
        contract=contract, version=version, user=user, action=action, details=details
    )
