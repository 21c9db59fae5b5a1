"""Fidelity fixes: behaviour the API documentation states that the emulator once got wrong."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_code, make_client, unique
from workmail_constructs.local import EmulatorControl
from workmail_constructs.local.control import EmulatorCommandError

GOOD_PASSWORD = "Corr3ct-Horse!"
OTHER_REGION = "eu-west-1"


def _raises(code: str, call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    assert error_code(exc) == code, exc.value.response["Error"]
    return str(exc.value.response["Error"]["Message"])


def _user(client: Any, org_id: str, domain: str | None = None) -> str:
    name = unique("u")
    user_id = str(client.create_user(OrganizationId=org_id, Name=name, DisplayName=name,
                                     Password=GOOD_PASSWORD)["UserId"])
    if domain:
        client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=f"{name}@{domain}")
    return user_id


# One filter per list request ---------------------------------------------------------------

TWO_FILTERS = [
    ("list_users", {"UsernamePrefix": "a", "State": "ENABLED"}),
    ("list_groups", {"NamePrefix": "a", "PrimaryEmailPrefix": "a"}),
    ("list_resources", {"NamePrefix": "a", "State": "DISABLED"}),
]


@pytest.mark.parametrize(("method", "filters"), TWO_FILTERS, ids=[m for m, _ in TWO_FILTERS])
def test_list_operations_take_one_filter_per_request(
    client: Any, org_id: str, method: str, filters: dict[str, str]
) -> None:
    # "You can only use one filter per request" (the Filters member of each operation).
    message = _raises("InvalidParameterException", getattr(client, method), OrganizationId=org_id, Filters=filters)
    assert all(name in message for name in filters), message
    for name, value in filters.items():
        getattr(client, method)(OrganizationId=org_id, Filters={name: value})
    getattr(client, method)(OrganizationId=org_id, Filters={})


# DeleteMailboxPermissions and deleted entities -------------------------------------------------


def test_delete_mailbox_permissions_refuses_deleted_entities(client: Any, org_id: str, domain: str) -> None:
    owner, grantee = _user(client, org_id, domain), _user(client, org_id, domain)
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=owner, GranteeId=grantee,
                                   PermissionValues=["SEND_AS"])
    gone = _user(client, org_id)
    client.delete_user(OrganizationId=org_id, UserId=gone)
    # EntityStateException is documented for the operation; a deleted entity named by id is
    # "not in the expected state", whether it owns the mailbox or was granted on it.
    _raises("EntityStateException", client.delete_mailbox_permissions, OrganizationId=org_id,
            EntityId=gone, GranteeId=grantee)
    _raises("EntityStateException", client.delete_mailbox_permissions, OrganizationId=org_id,
            EntityId=owner, GranteeId=gone)
    client.delete_mailbox_permissions(OrganizationId=org_id, EntityId=owner, GranteeId=grantee)
    assert client.list_mailbox_permissions(OrganizationId=org_id, EntityId=owner)["Permissions"] == []


# Directories: their Region, and one organization each ---------------------------------------


def _directory(control: EmulatorControl, alias: str, kind: str = "SimpleAD", **extra: Any) -> str:
    return str(control.command("create-directory", Alias=alias, Type=kind, **extra)["DirectoryId"])


def test_a_directory_serves_only_its_own_region(client: Any, control: EmulatorControl, emulator_url: str) -> None:
    alias = unique("far")
    created = control.command("create-directory", Alias=alias, Type="SimpleAD", Region=OTHER_REGION)
    assert created["Region"] == OTHER_REGION
    message = _raises("DirectoryUnavailableException", client.create_organization,
                      Alias=alias, DirectoryId=created["DirectoryId"])
    assert created["DirectoryId"] in message
    there = make_client(emulator_url, region=OTHER_REGION)
    org_id = there.create_organization(Alias=alias, DirectoryId=created["DirectoryId"])["OrganizationId"]
    try:
        assert there.describe_organization(OrganizationId=org_id)["DirectoryId"] == created["DirectoryId"]
    finally:
        there.delete_organization(OrganizationId=org_id, DeleteDirectory=True, ForceDelete=True)


def test_a_directory_serves_one_organization_at_a_time(client: Any, control: EmulatorControl) -> None:
    alias = unique("shared")
    directory = _directory(control, alias)
    first = client.create_organization(Alias=alias, DirectoryId=directory)["OrganizationId"]
    # The second organization would share the alias too, but the directory is what is taken.
    _raises("DirectoryInUseException", client.create_organization, Alias=alias, DirectoryId=directory)
    control.set_timing(org_deleting=60)
    try:
        client.delete_organization(OrganizationId=first, DeleteDirectory=False)
        # Deleting is not deleted: the directory stays taken until the organization is gone.
        _raises("DirectoryInUseException", client.create_organization, Alias=alias, DirectoryId=directory)
        control.advance_clock(61)
    finally:
        control.set_timing(org_deleting=0)
    second = client.create_organization(Alias=alias, DirectoryId=directory)["OrganizationId"]
    # Deleting with the directory deletes it in Directory Service.
    client.delete_organization(OrganizationId=second, DeleteDirectory=True)
    _raises("DirectoryUnavailableException", client.create_organization, Alias=alias, DirectoryId=directory)


def test_directory_status_decides_what_reaches_the_directory(client: Any, control: EmulatorControl) -> None:
    alias = unique("simple")
    directory = _directory(control, alias)
    org_id = client.create_organization(Alias=alias, DirectoryId=directory)["OrganizationId"]
    try:
        user = _user(client, org_id)
        resource = client.create_resource(OrganizationId=org_id, Name=unique("room"), Type="ROOM")["ResourceId"]
        control.command("set-directory-status", DirectoryId=directory, Status="Unavailable")
        _raises("DirectoryUnavailableException", client.create_user, OrganizationId=org_id, Name="late",
                DisplayName="Late")
        _raises("DirectoryUnavailableException", client.describe_user, OrganizationId=org_id, UserId=user)
        # What WorkMail keeps itself is still served.
        assert [u["Id"] for u in client.list_users(OrganizationId=org_id)["Users"]] == [user]
        control.command("set-directory-status", DirectoryId=directory, Status="AuthenticationFailed")
        _raises("DirectoryServiceAuthenticationFailedException", client.reset_password, OrganizationId=org_id,
                UserId=user, Password=GOOD_PASSWORD)
        # UpdateResource documents only the unavailable directory, not this.
        client.update_resource(OrganizationId=org_id, ResourceId=resource, Description="Still fine")
        control.command("set-directory-status", DirectoryId=directory, Status="Active")
        assert client.describe_user(OrganizationId=org_id, UserId=user)["State"] == "DISABLED"
    finally:
        client.delete_organization(OrganizationId=org_id, DeleteDirectory=True, ForceDelete=True)
    # WorkMail's own directories are WorkMail's.
    native = client.create_organization(Alias=unique("native"))["OrganizationId"]
    try:
        own = client.describe_organization(OrganizationId=native)["DirectoryId"]
        with pytest.raises(EmulatorCommandError) as exc:
            control.command("set-directory-status", DirectoryId=own, Status="Unavailable")
        assert exc.value.code == "InvalidParameterException"
    finally:
        client.delete_organization(OrganizationId=native, DeleteDirectory=True, ForceDelete=True)


def test_interoperability_mode_has_no_workmail_resources(client: Any, control: EmulatorControl) -> None:
    alias = unique("interop")
    directory = _directory(control, alias, "ADConnector")
    org_id = client.create_organization(Alias=alias, DirectoryId=directory,
                                        EnableInteroperability=True)["OrganizationId"]
    try:
        # Resources live in Exchange in this mode ("Interoperability between Amazon WorkMail and
        # Microsoft Exchange"); the operations document UnsupportedOperationException.
        _raises("UnsupportedOperationException", client.list_resources, OrganizationId=org_id)
        _raises("UnsupportedOperationException", client.describe_resource, OrganizationId=org_id,
                ResourceId="r-" + "0" * 32)
        _raises("UnsupportedOperationException", client.list_resource_delegates, OrganizationId=org_id,
                ResourceId="r-" + "0" * 32)
        client.list_users(OrganizationId=org_id)
    finally:
        client.delete_organization(OrganizationId=org_id, DeleteDirectory=True, ForceDelete=True)


# Journaling name and address --------------------------------------------------------------


def test_the_journaling_name_and_address_are_taken(client: Any, org_id: str) -> None:
    for call, extra in ((client.create_user, {"DisplayName": "J"}), (client.create_group, {}),
                        (client.create_resource, {"Type": "ROOM"})):
        _raises("ReservedNameException", call, OrganizationId=org_id, Name="AmazonJournaling", **extra)
    alias = client.describe_organization(OrganizationId=org_id)["Alias"]
    user = _user(client, org_id)
    # RegisterToWorkMail documents EmailAddressInUseException, not ReservedNameException.
    _raises("EmailAddressInUseException", client.register_to_work_mail, OrganizationId=org_id, EntityId=user,
            Email=f"amazonjournaling@{alias}.awsapps.com")
