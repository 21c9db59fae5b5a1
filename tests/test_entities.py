"""Contract tests: users, groups and resources, their addresses, membership and delegates."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_code, unique
from workmail_constructs.core.password_policy import password_problems

GOOD_PASSWORD = "Corr3ct-Horse!"


def _user(client: Any, org_id: str, name: str, email: str | None = None, **extra: Any) -> str:
    user_id = str(client.create_user(OrganizationId=org_id, Name=name, DisplayName=name.title(),
                                     Password=GOOD_PASSWORD, **extra)["UserId"])
    if email:
        client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=email)
    return user_id


def _raises(code: str, call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    assert error_code(exc) == code, exc.value.response["Error"]
    return str(exc.value.response["Error"]["Message"])


def test_user_lifecycle(client: Any, org_id: str, domain: str) -> None:
    user_id = _user(client, org_id, "alice")
    user = client.describe_user(OrganizationId=org_id, UserId=user_id)
    assert user["State"] == "DISABLED" and user["UserRole"] == "USER" and "Email" not in user
    client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=f"alice@{domain}")
    user = client.describe_user(OrganizationId=org_id, UserId="alice")
    assert user["State"] == "ENABLED" and user["Email"] == f"alice@{domain}" and "EnabledDate" in user
    # Registering again with the same address changes nothing; another address is refused.
    client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=f"alice@{domain}")
    _raises("EntityAlreadyRegisteredException", client.register_to_work_mail,
            OrganizationId=org_id, EntityId=user_id, Email=f"other@{domain}")
    _raises("EntityStateException", client.delete_user, OrganizationId=org_id, UserId=user_id)
    client.deregister_from_work_mail(OrganizationId=org_id, EntityId=user_id)
    assert client.describe_user(OrganizationId=org_id, UserId=user_id)["State"] == "DISABLED"
    client.delete_user(OrganizationId=org_id, UserId=user_id)
    assert client.describe_user(OrganizationId=org_id, UserId=user_id)["State"] == "DELETED"
    _raises("EntityStateException", client.register_to_work_mail,
            OrganizationId=org_id, EntityId=user_id, Email=f"alice@{domain}")
    # Deleting again, or deleting what never existed, is a success.
    client.delete_user(OrganizationId=org_id, UserId=user_id)
    client.delete_user(OrganizationId=org_id, UserId="12345678-1234-1234-1234-123456789012")
    # The name and the address are free again.
    _user(client, org_id, "alice", f"alice@{domain}")


def test_register_needs_a_verified_domain_of_the_organization(client: Any, org_id: str) -> None:
    user_id = _user(client, org_id, "bob")
    _raises("MailDomainNotFoundException", client.register_to_work_mail,
            OrganizationId=org_id, EntityId=user_id, Email="bob@nowhere.example.com")
    pending = f"{unique('pend')}.example.com"
    client.register_mail_domain(OrganizationId=org_id, DomainName=pending)
    _raises("MailDomainStateException", client.register_to_work_mail,
            OrganizationId=org_id, EntityId=user_id, Email=f"bob@{pending}")
    _raises("ValidationException", client.register_to_work_mail,
            OrganizationId=org_id, EntityId=user_id, Email="not-an-email")


def test_names_are_unique_across_entity_types(client: Any, org_id: str) -> None:
    _user(client, org_id, "shared")
    _raises("NameAvailabilityException", client.create_user, OrganizationId=org_id, Name="SHARED",
            DisplayName="x")
    _raises("NameAvailabilityException", client.create_group, OrganizationId=org_id, Name="shared")
    _raises("NameAvailabilityException", client.create_resource, OrganizationId=org_id, Name="shared",
            Type="ROOM")


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("Passw0rd", True),  # upper, lower, digit
        ("password!1", True),  # lower, special, digit
        ("PASSWORD!é", True),  # upper, special, Latin-1 supplement
        ("Short1!", False),  # 7 characters
        ("password", False),  # one group
        ("Password", False),  # two groups
        ("Pa1!" * 16, False),  # 64 characters: not less than 64
        ("Pa1!" * 15 + "abc", True),  # 63 characters
    ],
)
def test_password_policy(client: Any, org_id: str, password: str, accepted: bool) -> None:
    assert (password_problems(password) == []) is accepted
    name = unique("pw")
    if accepted:
        user_id = client.create_user(OrganizationId=org_id, Name=name, DisplayName="P", Password=password)["UserId"]
        client.reset_password(OrganizationId=org_id, UserId=user_id, Password=password)
    else:
        _raises("InvalidPasswordException", client.create_user, OrganizationId=org_id, Name=name,
                DisplayName="P", Password=password)
        user_id = client.create_user(OrganizationId=org_id, Name=name, DisplayName="P")["UserId"]
        _raises("InvalidPasswordException", client.reset_password, OrganizationId=org_id, UserId=user_id,
                Password=password)


def test_password_outside_latin1_is_a_validation_error(client: Any, org_id: str) -> None:
    message = _raises("ValidationException", client.create_user, OrganizationId=org_id, Name="cyr",
                      DisplayName="C", Password="Пароль123!")
    assert "Пароль" not in message, "a sensitive value must not be echoed"


def test_roles_and_attributes(client: Any, org_id: str) -> None:
    _raises("InvalidParameterException", client.create_user, OrganizationId=org_id, Name="sys",
            DisplayName="S", Role="SYSTEM_USER")
    user_id = _user(client, org_id, "remote", Role="REMOTE_USER", FirstName="Re", LastName="Mote")
    user = client.describe_user(OrganizationId=org_id, UserId=user_id)
    assert user["UserRole"] == "REMOTE_USER" and user["FirstName"] == "Re"
    client.update_user(OrganizationId=org_id, UserId=user_id, Role="USER", JobTitle="Engineer", City="Oslo",
                       HiddenFromGlobalAddressList=True, FirstName="")
    user = client.describe_user(OrganizationId=org_id, UserId=user_id)
    assert user["UserRole"] == "USER" and user["JobTitle"] == "Engineer" and user["City"] == "Oslo"
    assert user["HiddenFromGlobalAddressList"] is True and "FirstName" not in user
    _raises("InvalidParameterException", client.update_user, OrganizationId=org_id, UserId=user_id,
            Role="RESOURCE")
    _raises("EntityNotFoundException", client.update_user, OrganizationId=org_id, UserId="nobody",
            DisplayName="x")
    _raises("ValidationException", client.update_user, OrganizationId=org_id, UserId=user_id, City="x" * 257)


def test_mailbox_quota(client: Any, org_id: str, domain: str) -> None:
    user_id = _user(client, org_id, "quota")
    _raises("EntityStateException", client.get_mailbox_details, OrganizationId=org_id, UserId=user_id)
    client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=f"quota@{domain}")
    details = client.get_mailbox_details(OrganizationId=org_id, UserId=user_id)
    assert details["MailboxQuota"] == 51200 and details["MailboxSize"] == 0
    client.update_mailbox_quota(OrganizationId=org_id, UserId=user_id, MailboxQuota=1024)
    assert client.get_mailbox_details(OrganizationId=org_id, UserId=user_id)["MailboxQuota"] == 1024
    _raises("InvalidParameterException", client.update_mailbox_quota, OrganizationId=org_id, UserId=user_id,
            MailboxQuota=51201)


def test_aliases(client: Any, org_id: str, domain: str) -> None:
    user_id = _user(client, org_id, "ali", f"ali@{domain}")
    other = _user(client, org_id, "other", f"other@{domain}")
    client.create_alias(OrganizationId=org_id, EntityId=user_id, Alias=f"a1@{domain}")
    client.create_alias(OrganizationId=org_id, EntityId=user_id, Alias=f"a1@{domain}")  # idempotent
    _raises("EmailAddressInUseException", client.create_alias, OrganizationId=org_id, EntityId=other,
            Alias=f"A1@{domain}")
    _raises("EmailAddressInUseException", client.create_alias, OrganizationId=org_id, EntityId=other,
            Alias=f"ali@{domain}")
    _raises("MailDomainNotFoundException", client.create_alias, OrganizationId=org_id, EntityId=user_id,
            Alias="a@elsewhere.example.com")
    assert client.list_aliases(OrganizationId=org_id, EntityId=user_id)["Aliases"] == [f"a1@{domain}"]
    assert client.describe_entity(OrganizationId=org_id, Email=f"a1@{domain}")["EntityId"] == user_id
    client.delete_alias(OrganizationId=org_id, EntityId=user_id, Alias=f"a1@{domain}")
    client.delete_alias(OrganizationId=org_id, EntityId=user_id, Alias=f"a1@{domain}")  # idempotent
    _raises("EntityNotFoundException", client.describe_entity, OrganizationId=org_id, Email=f"a1@{domain}")
    disabled = _user(client, org_id, "disabled")
    _raises("EntityStateException", client.create_alias, OrganizationId=org_id, EntityId=disabled,
            Alias=f"dis@{domain}")


def test_at_most_100_aliases(client: Any, org_id: str, domain: str) -> None:
    user_id = _user(client, org_id, "many", f"many@{domain}")
    for n in range(100):
        client.create_alias(OrganizationId=org_id, EntityId=user_id, Alias=f"many{n}@{domain}")
    _raises("LimitExceededException", client.create_alias, OrganizationId=org_id, EntityId=user_id,
            Alias=f"many100@{domain}")
    pages = list(client.get_paginator("list_aliases").paginate(
        OrganizationId=org_id, EntityId=user_id, PaginationConfig={"PageSize": 30}))
    assert [len(p["Aliases"]) for p in pages] == [30, 30, 30, 10]
    assert len({a for p in pages for a in p["Aliases"]}) == 100


def test_update_primary_email_swaps_with_alias(client: Any, org_id: str, domain: str) -> None:
    user_id = _user(client, org_id, "prim", f"prim@{domain}")
    client.create_alias(OrganizationId=org_id, EntityId=user_id, Alias=f"alias@{domain}")
    client.update_primary_email_address(OrganizationId=org_id, EntityId=user_id, Email=f"alias@{domain}")
    assert client.describe_user(OrganizationId=org_id, UserId=user_id)["Email"] == f"alias@{domain}"
    assert client.list_aliases(OrganizationId=org_id, EntityId=user_id)["Aliases"] == [f"prim@{domain}"]
    client.update_primary_email_address(OrganizationId=org_id, EntityId=user_id, Email=f"new@{domain}")
    assert sorted(client.list_aliases(OrganizationId=org_id, EntityId=user_id)["Aliases"]) == [
        f"alias@{domain}", f"prim@{domain}"]
    _raises("InvalidParameterException", client.delete_alias, OrganizationId=org_id, EntityId=user_id,
            Alias=f"new@{domain}")
    other = _user(client, org_id, "other2", f"other2@{domain}")
    _raises("EmailAddressInUseException", client.update_primary_email_address, OrganizationId=org_id,
            EntityId=other, Email=f"new@{domain}")


def test_groups_and_nested_membership(client: Any, org_id: str, domain: str) -> None:
    outer = client.create_group(OrganizationId=org_id, Name="outer")["GroupId"]
    inner = client.create_group(OrganizationId=org_id, Name="inner", HiddenFromGlobalAddressList=True)["GroupId"]
    assert client.describe_group(OrganizationId=org_id, GroupId=inner)["HiddenFromGlobalAddressList"] is True
    user_id = _user(client, org_id, "member", f"member@{domain}")
    client.associate_member_to_group(OrganizationId=org_id, GroupId=inner, MemberId=user_id)
    client.associate_member_to_group(OrganizationId=org_id, GroupId=outer, MemberId="inner")
    client.associate_member_to_group(OrganizationId=org_id, GroupId=outer, MemberId=inner)  # idempotent
    members = client.list_group_members(OrganizationId=org_id, GroupId=outer)["Members"]
    assert [(m["Name"], m["Type"]) for m in members] == [("inner", "GROUP")]
    _raises("InvalidParameterException", client.associate_member_to_group, OrganizationId=org_id,
            GroupId=inner, MemberId=outer)
    _raises("InvalidParameterException", client.associate_member_to_group, OrganizationId=org_id,
            GroupId=inner, MemberId=inner)
    groups = client.list_groups_for_entity(OrganizationId=org_id, EntityId=user_id)["Groups"]
    assert groups == [{"GroupId": inner, "GroupName": "inner"}]
    client.disassociate_member_from_group(OrganizationId=org_id, GroupId=inner, MemberId=user_id)
    _raises("EntityNotFoundException", client.disassociate_member_from_group, OrganizationId=org_id,
            GroupId=inner, MemberId=user_id)
    client.update_group(OrganizationId=org_id, GroupId=inner, HiddenFromGlobalAddressList=False)
    assert client.describe_group(OrganizationId=org_id, GroupId=inner)["HiddenFromGlobalAddressList"] is False
    # Deleting a group removes it from the groups it belonged to.
    client.delete_group(OrganizationId=org_id, GroupId=inner)
    assert client.list_group_members(OrganizationId=org_id, GroupId=outer)["Members"] == []
    assert client.describe_group(OrganizationId=org_id, GroupId=inner)["State"] == "DELETED"


def test_group_lifecycle_with_email(client: Any, org_id: str, domain: str) -> None:
    group_id = client.create_group(OrganizationId=org_id, Name="sales")["GroupId"]
    assert client.describe_group(OrganizationId=org_id, GroupId=group_id)["State"] == "DISABLED"
    client.register_to_work_mail(OrganizationId=org_id, EntityId=group_id, Email=f"sales@{domain}")
    group = client.describe_group(OrganizationId=org_id, GroupId="sales")
    assert group["State"] == "ENABLED" and group["Email"] == f"sales@{domain}"
    _raises("EntityStateException", client.delete_group, OrganizationId=org_id, GroupId=group_id)
    assert client.describe_entity(OrganizationId=org_id, Email=f"sales@{domain}")["Type"] == "GROUP"


def test_resources_booking_and_delegates(client: Any, org_id: str, domain: str) -> None:
    room = client.create_resource(OrganizationId=org_id, Name="room-1", Type="ROOM",
                                  Description="Big room")["ResourceId"]
    assert room.startswith("r-") and len(room) == 34
    described = client.describe_resource(OrganizationId=org_id, ResourceId=room)
    assert described["BookingOptions"] == {"AutoAcceptRequests": True, "AutoDeclineRecurringRequests": False,
                                           "AutoDeclineConflictingRequests": True}
    assert described["State"] == "DISABLED" and described["Description"] == "Big room"
    _raises("InvalidConfigurationException", client.update_resource, OrganizationId=org_id, ResourceId=room,
            BookingOptions={"AutoAcceptRequests": False})
    delegate = _user(client, org_id, "delegate", f"delegate@{domain}")
    client.associate_delegate_to_resource(OrganizationId=org_id, ResourceId=room, EntityId=delegate)
    client.update_resource(OrganizationId=org_id, ResourceId=room, Name="room-2", Type="EQUIPMENT",
                           BookingOptions={"AutoAcceptRequests": False})
    described = client.describe_resource(OrganizationId=org_id, ResourceId="room-2")
    assert described["Name"] == "room-2" and described["Type"] == "EQUIPMENT"
    assert described["BookingOptions"]["AutoAcceptRequests"] is False
    assert client.list_resource_delegates(OrganizationId=org_id, ResourceId=room)["Delegates"] == [
        {"Id": delegate, "Type": "USER"}]
    _raises("InvalidParameterException", client.disassociate_delegate_from_resource, OrganizationId=org_id,
            ResourceId=room, EntityId=delegate)
    client.update_resource(OrganizationId=org_id, ResourceId=room, BookingOptions={"AutoAcceptRequests": True})
    client.disassociate_delegate_from_resource(OrganizationId=org_id, ResourceId=room, EntityId=delegate)
    assert client.list_resource_delegates(OrganizationId=org_id, ResourceId=room)["Delegates"] == []
    _raises("NameAvailabilityException", client.update_resource, OrganizationId=org_id, ResourceId=room,
            Name="delegate")
    client.register_to_work_mail(OrganizationId=org_id, EntityId=room, Email=f"room@{domain}")
    assert client.describe_entity(OrganizationId=org_id, Email=f"room@{domain}")["Type"] == "RESOURCE"
    _raises("EntityStateException", client.delete_resource, OrganizationId=org_id, ResourceId=room)
    client.deregister_from_work_mail(OrganizationId=org_id, EntityId=room)
    client.delete_resource(OrganizationId=org_id, ResourceId=room)
    listed = client.list_resources(OrganizationId=org_id, Filters={"State": "DELETED"})["Resources"]
    assert [r["Id"] for r in listed] == [room]


def test_list_users_filters_and_pagination(client: Any, org_id: str, domain: str) -> None:
    for n in range(25):
        _user(client, org_id, f"page{n:02d}", f"page{n:02d}@{domain}" if n % 2 == 0 else None)
    _user(client, org_id, "zzz")
    names: list[str] = []
    for page in client.get_paginator("list_users").paginate(OrganizationId=org_id,
                                                            PaginationConfig={"PageSize": 10}):
        assert len(page["Users"]) <= 10
        names += [u["Name"] for u in page["Users"]]
    assert names == sorted(names) and len(names) == len(set(names)) == 26
    prefixed = client.list_users(OrganizationId=org_id, Filters={"UsernamePrefix": "page1"})["Users"]
    assert sorted(u["Name"] for u in prefixed) == [f"page1{n}" for n in range(10)]
    enabled = client.list_users(OrganizationId=org_id, Filters={"State": "ENABLED"})["Users"]
    assert len(enabled) == 13
    by_email = client.list_users(OrganizationId=org_id, Filters={"PrimaryEmailPrefix": "page02@"})["Users"]
    assert [u["Name"] for u in by_email] == ["page02"]
    first = client.list_users(OrganizationId=org_id, MaxResults=5)
    _raises("InvalidParameterException", client.list_users, OrganizationId=org_id,
            Filters={"UsernamePrefix": "page"}, NextToken=first["NextToken"])
    _raises("ValidationException", client.list_users, OrganizationId=org_id, MaxResults=101)
    _raises("ValidationException", client.list_users, OrganizationId=org_id, Filters={"State": "GONE"})


def test_resource_name_length_follows_the_model(client: Any, org_id: str) -> None:
    message = _raises("ValidationException", client.create_resource, OrganizationId=org_id, Name="r" * 21,
                      Type="ROOM")
    assert "'name'" in message and "20" in message
    _raises("ValidationException", client.create_resource, OrganizationId=org_id, Name="room", Type="CAR")
    _raises("ValidationException", client.create_user, OrganizationId=org_id, Name="u" * 65, DisplayName="x")


def test_list_groups_filters(client: Any, org_id: str, domain: str) -> None:
    for name in ("team-a", "team-b", "other"):
        group_id = client.create_group(OrganizationId=org_id, Name=name)["GroupId"]
        if name != "other":
            client.register_to_work_mail(OrganizationId=org_id, EntityId=group_id, Email=f"{name}@{domain}")
    listed = client.list_groups(OrganizationId=org_id)["Groups"]
    assert [g["Name"] for g in listed] == ["other", "team-a", "team-b"]
    teams = client.list_groups(OrganizationId=org_id, Filters={"NamePrefix": "team"})["Groups"]
    assert [g["Name"] for g in teams] == ["team-a", "team-b"]
    assert all(g["Email"] == f"{g['Name']}@{domain}" and g["State"] == "ENABLED" for g in teams)
    disabled = client.list_groups(OrganizationId=org_id, Filters={"State": "DISABLED"})["Groups"]
    assert [g["Name"] for g in disabled] == ["other"]
    first = client.list_groups(OrganizationId=org_id, MaxResults=2)
    rest = client.list_groups(OrganizationId=org_id, MaxResults=2, NextToken=first["NextToken"])
    assert [g["Name"] for g in first["Groups"] + rest["Groups"]] == ["other", "team-a", "team-b"]
    assert "NextToken" not in rest
