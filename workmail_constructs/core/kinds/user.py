"""Users: their attributes, passwords and mailbox quotas (with what users, groups and resources
share in ``entities.py``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from ..changes import Change, EntityAddress, FieldChange
from ..spec import USER_TEXT_ATTRIBUTES, UserRole, UserSpec, api_member
from ..state import ActualUser
from .base import ApplyContext, KindInfo
from .compare import field_changes
from .entities import EntityKindBase, read_addresses

if TYPE_CHECKING:
    from ..read import Job, Reader
    from ..validate import Validator

UserChange = Change[EntityAddress, UserSpec]

# Mailbox quota in MB: 1 to 51,200 (Administrator Guide, "Editing user details"); the model gives
# only the minimum.
MAX_MAILBOX_QUOTA_MB = 51200
# "WorkMail directory user names have a maximum length of 64. All others have a maximum
# length of 20." (CreateUser.Name documentation in the service model)
MAX_NAME_OTHER_DIRECTORIES = 20
# Roles a caller can give; RESOURCE and SYSTEM_USER are WorkMail's own.
SETTABLE_ROLES = ("USER", "REMOTE_USER")

USER_ATTRIBUTES = (*USER_TEXT_ATTRIBUTES, "role", "hidden_from_global_address_list", "identity_provider_user_id")
USER_ATTRIBUTE_MEMBERS = {name: api_member(name) for name in USER_TEXT_ATTRIBUTES}
# Attributes CreateUser doesn't take: set by an UpdateUser right after.
LATER_ATTRIBUTES = (
    "initials", "telephone", "street", "job_title", "city", "company", "zip_code", "department", "country", "office",
)
UPDATE_USER_FIELDS = frozenset(
    {*USER_ATTRIBUTE_MEMBERS, "role", "hidden_from_global_address_list", "identity_provider_user_id"}
)


class UserKind(EntityKindBase[UserSpec]):
    name = "user"
    section = "users"
    info = KindInfo("Users", "users", {"$ref": "#/$defs/UserSpec"})
    delete_rank = 80
    update_fields = UPDATE_USER_FIELDS | {"mailbox_quota_mb", "password"}

    def attribute_changes(self, current: UserSpec, spec: UserSpec, previous: UserSpec | None,
                          enabled_now: bool) -> list[FieldChange]:
        fields = field_changes(current, spec, USER_ATTRIBUTES)
        quota = spec.mailbox_quota_mb
        if spec.enabled and quota is not None and enabled_now and current.mailbox_quota_mb != quota:
            fields.append(FieldChange("mailbox_quota_mb", current.mailbox_quota_mb, quota))
        elif spec.enabled and quota is not None and not enabled_now:
            fields.append(FieldChange("mailbox_quota_mb", None, quota))
        # Passwords can't be read back: a new secret reference (or version) is the only signal.
        if previous is not None and spec.password is not None and previous.password != spec.password:
            fields.append(FieldChange("password", previous.password, spec.password))
        return fields

    def entity_jobs(self, reader: Reader, entity_id: str, name: str, enabled: bool) -> list[Job]:
        jobs = super().entity_jobs(reader, entity_id, name, enabled)
        # A quota is read only where the plan compares one (declared), or for an inventory.
        if enabled and reader.scope.reads_quota(name):
            fetch = partial(reader.call, "GetMailboxDetails", UserId=entity_id)
            jobs.append((reader.tolerant(fetch), reader.keep_detail(reader.detail("quotas"), entity_id)))
        return jobs

    def build_one(self, reader: Reader, entity_id: str, described: dict[str, Any]) -> ActualUser:
        role = str(described.get("UserRole") or "USER")
        enabled = described.get("State") == "ENABLED"
        attributes: dict[str, Any] = {name: described.get(api_member(name)) for name in USER_TEXT_ATTRIBUTES}
        attributes["display_name"] = attributes["display_name"] or ""
        details = reader.detail("quotas").get(entity_id) or {}
        quota = details.get("MailboxQuota") if enabled else None
        spec = UserSpec(
            name=described["Name"],
            email=described.get("Email"),
            enabled=enabled,
            # SYSTEM_USER and RESOURCE can't be declared; ActualUser.role keeps them.
            role=cast(UserRole, role if role in ("USER", "REMOTE_USER") else "USER"),
            **attributes,
            hidden_from_global_address_list=bool(described.get("HiddenFromGlobalAddressList", False)),
            identity_provider_user_id=described.get("IdentityProviderUserId"),
            aliases=read_addresses(reader, entity_id, described),
            mailbox_quota_mb=int(quota) if quota is not None else None,
            password=None,
        )
        return ActualUser(id=entity_id, state=str(described["State"]), spec=spec, role=role)

    def validate_one(self, v: Validator, user: UserSpec, path: Callable[[], str]) -> None:
        if user.role not in SETTABLE_ROLES and user.role in _model_roles():
            v.add(f"{path()}.role", f"{user.role} is WorkMail's own role; set {' or '.join(SETTABLE_ROLES)}")
        if not v.workmail_directory and isinstance(user.name, str) and len(user.name) > MAX_NAME_OTHER_DIRECTORIES:
            v.add(f"{path()}.name", f"user names are at most {MAX_NAME_OTHER_DIRECTORIES} characters outside the "
                                    f"WorkMail directory; {len(user.name)} given")
        quota = user.mailbox_quota_mb
        if isinstance(quota, int) and not isinstance(quota, bool):
            if quota > MAX_MAILBOX_QUOTA_MB:
                v.add(f"{path()}.mailbox_quota_mb", f"the mailbox quota is 1 to {MAX_MAILBOX_QUOTA_MB} MB; "
                                                    f"{quota} given")
            if not user.enabled:
                # UpdateMailboxQuota works on a user's mailbox, which only an enabled user has.
                v.add(f"{path()}.mailbox_quota_mb", "a disabled user has no mailbox to set a quota on")

    def password(self, spec: UserSpec, ctx: ApplyContext) -> str | None:
        return ctx.secret(spec.password, "password") if spec.password is not None else None

    def create_params(self, spec: UserSpec, password: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"DisplayName": spec.display_name, "Role": spec.role}
        for name in ("first_name", "last_name", "identity_provider_user_id"):
            if getattr(spec, name):
                params[api_member(name)] = getattr(spec, name)
        if password is not None:
            params["Password"] = password
        return params

    def after_create(self, entity_id: str, spec: UserSpec, adopted: bool, password: str | None,
                     ctx: ApplyContext) -> None:
        later = [n for n in LATER_ATTRIBUTES if getattr(spec, n)]
        if adopted:
            update_user(entity_id, spec, ctx, identity_provider=False)
            if password is not None:
                ctx.call("ResetPassword", UserId=entity_id, Password=password)
        elif later:
            ctx.call("UpdateUser", UserId=entity_id, **{api_member(n): getattr(spec, n) for n in later})
        if spec.enabled and spec.email and spec.mailbox_quota_mb is not None:
            ctx.call("UpdateMailboxQuota", UserId=entity_id, MailboxQuota=spec.mailbox_quota_mb)

    def new_password(self, change: UserChange, ctx: ApplyContext) -> str | None:
        password = change.declared.password
        return ctx.secret(password, "password") if "password" in change.field_names() and password else None

    def update_attributes(self, change: UserChange, after: UserSpec, entity_id: str, was_enabled: bool,
                          now_enabled: bool, password: str | None, ctx: ApplyContext) -> None:
        names = change.field_names()
        if names & UPDATE_USER_FIELDS:
            update_user(entity_id, after, ctx, identity_provider="identity_provider_user_id" in names)
        quota = after.mailbox_quota_mb
        if now_enabled and quota is not None and ("mailbox_quota_mb" in names or not was_enabled):
            ctx.call("UpdateMailboxQuota", UserId=entity_id, MailboxQuota=quota)
        if password is not None:
            ctx.call("ResetPassword", UserId=entity_id, Password=password)


def update_user(user_id: str, spec: UserSpec, ctx: ApplyContext, *, identity_provider: bool) -> None:
    """UpdateUser states the whole user: an attribute the spec no longer sets is cleared with ""."""
    params: dict[str, Any] = {member: getattr(spec, name) or "" for name, member in USER_ATTRIBUTE_MEMBERS.items()}
    params["DisplayName"] = spec.display_name
    params["Role"] = spec.role
    params["HiddenFromGlobalAddressList"] = spec.hidden_from_global_address_list
    if identity_provider or spec.identity_provider_user_id:
        params["IdentityProviderUserId"] = spec.identity_provider_user_id or ""
    ctx.call("UpdateUser", UserId=user_id, **params)


def _model_roles() -> tuple[str, ...]:
    # botocore's model is loaded when validating, not when a handler module is imported.
    from .. import service_model

    return service_model.enum_values("UserRole")
