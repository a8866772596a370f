"""Deactivations revoke tokens at once (agencies.revocation): connected in AgenciesConfig.ready().

Only a transition revokes: a person becoming inactive, a membership deleted or moved to another
agency, a client becoming inactive or moving to another agency, an agency becoming inactive.
Any other save (a rename, the last_login Django writes at each sign-in) revokes nothing. The
previous state is read from the database in pre_save, and only when the save may change it.

Deactivation goes through save(): the admin and the services do, and the revocation then runs
in the same transaction as the deactivation when the save is in one (the admin's is). A
queryset update() sends no signal and revokes nothing: do not deactivate that way. What still
holds then: inactive clients and agencies get no token (Client.is_usable), and a refresh token
of someone no longer staff mints nothing (HubOAuth2Validator.validate_refresh_token).
"""

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save

from agencies import revocation
from agencies.models import Agency, Client, StaffMembership, User

# The previous values, kept on the instance between pre_save and post_save.
_BEFORE = "_revocation_before"


def _remember(
    instance: Any, update_fields: Any, fields: tuple[str, ...], raw: bool = False
) -> None:
    setattr(instance, _BEFORE, None)
    names = set(fields) | {field.removesuffix("_id") for field in fields}
    if (
        raw
        or instance._state.adding
        or (update_fields is not None and not names & set(update_fields))
    ):
        return
    setattr(
        instance,
        _BEFORE,
        type(instance)._base_manager.filter(pk=instance.pk).values(*fields).first(),
    )


def _before(instance: Any) -> dict[str, Any] | None:
    before = getattr(instance, _BEFORE, None)
    setattr(instance, _BEFORE, None)
    return before


def remember_user(sender: Any, instance: User, update_fields: Any = None, **kwargs: Any) -> None:
    _remember(instance, update_fields, ("is_active",), kwargs.get("raw", False))


def revoke_on_user_deactivated(sender: Any, instance: User, **kwargs: Any) -> None:
    before = _before(instance)
    if before and before["is_active"] and not instance.is_active:
        revocation.revoke_person_tokens(instance.pk)


def remember_membership(
    sender: Any, instance: StaffMembership, update_fields: Any = None, **kwargs: Any
) -> None:
    _remember(instance, update_fields, ("agency_id", "user_id"), kwargs.get("raw", False))


def revoke_on_membership_moved(sender: Any, instance: StaffMembership, **kwargs: Any) -> None:
    before = _before(instance)
    if before and (before["agency_id"], before["user_id"]) != (
        instance.agency_id,
        instance.user_id,
    ):
        revocation.revoke_person_tokens(before["user_id"])


def revoke_on_membership_deleted(sender: Any, instance: StaffMembership, **kwargs: Any) -> None:
    revocation.revoke_person_tokens(instance.user_id)


def remember_client(
    sender: Any, instance: Client, update_fields: Any = None, **kwargs: Any
) -> None:
    _remember(instance, update_fields, ("active", "agency_id"), kwargs.get("raw", False))


def revoke_on_client_deactivated(sender: Any, instance: Client, **kwargs: Any) -> None:
    before = _before(instance)
    if before is None:
        return
    if (before["active"] and not instance.active) or before["agency_id"] != instance.agency_id:
        revocation.revoke_client_tokens(instance.pk)


def remember_agency(
    sender: Any, instance: Agency, update_fields: Any = None, **kwargs: Any
) -> None:
    _remember(instance, update_fields, ("active",), kwargs.get("raw", False))


def revoke_on_agency_deactivated(sender: Any, instance: Agency, **kwargs: Any) -> None:
    before = _before(instance)
    if before and before["active"] and not instance.active:
        revocation.revoke_agency_tokens(instance.pk)


def connect() -> None:
    uid = "agencies.revocation"
    pre_save.connect(remember_user, sender=User, dispatch_uid=f"{uid}.user.pre")
    post_save.connect(revoke_on_user_deactivated, sender=User, dispatch_uid=f"{uid}.user")
    pre_save.connect(remember_membership, sender=StaffMembership, dispatch_uid=f"{uid}.staff.pre")
    post_save.connect(
        revoke_on_membership_moved, sender=StaffMembership, dispatch_uid=f"{uid}.staff"
    )
    post_delete.connect(
        revoke_on_membership_deleted, sender=StaffMembership, dispatch_uid=f"{uid}.staff.delete"
    )
    pre_save.connect(remember_client, sender=Client, dispatch_uid=f"{uid}.client.pre")
    post_save.connect(revoke_on_client_deactivated, sender=Client, dispatch_uid=f"{uid}.client")
    pre_save.connect(remember_agency, sender=Agency, dispatch_uid=f"{uid}.agency.pre")
    post_save.connect(revoke_on_agency_deactivated, sender=Agency, dispatch_uid=f"{uid}.agency")
