"""Contract tests: access control rules, mobile device access rules and overrides,
impersonation roles, and the effects the Guide says each computes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_code, unique
from workmail_constructs.local import EmulatorControl

MISSING_ORG = "m-" + "0" * 32
ALL_ACTIONS = ("ActiveSync", "AutoDiscover", "EWS", "IMAP", "SMTP", "WindowsOutlook", "WebMail")


def expect(code: str, call: Callable[[], Any]) -> ClientError:
    with pytest.raises(ClientError) as exc:
        call()
    assert error_code(exc) == code, exc.value.response["Error"]
    return exc.value


def make_user(client: Any, org_id: str, domain: str | None = None) -> dict[str, str]:
    """A user; enabled for WorkMail (with a mailbox) when a domain is given."""
    name = unique("u")
    user_id = client.create_user(
        OrganizationId=org_id, Name=name, DisplayName=name.upper(), Password="Passw0rd!x"
    )["UserId"]
    email = f"{name}@{domain}" if domain else ""
    if domain:
        client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=email)
    return {"Id": user_id, "Name": name, "Email": email}


def clear_access_rules(client: Any, org_id: str) -> None:
    for rule in client.list_access_control_rules(OrganizationId=org_id)["Rules"]:
        client.delete_access_control_rule(OrganizationId=org_id, Name=rule["Name"])


def clear_mobile_rules(client: Any, org_id: str) -> None:
    for rule in client.list_mobile_device_access_rules(OrganizationId=org_id)["Rules"]:
        client.delete_mobile_device_access_rule(
            OrganizationId=org_id, MobileDeviceAccessRuleId=rule["MobileDeviceAccessRuleId"]
        )


def put_rule(client: Any, org_id: str, name: str, effect: str, **conditions: Any) -> None:
    client.put_access_control_rule(
        OrganizationId=org_id, Name=name, Effect=effect, Description=f"{name} rule", **conditions
    )


def body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def access_effect(client: Any, org_id: str, action: str = "IMAP", ip: str = "10.0.0.1", **who: str) -> Any:
    return body(client.get_access_control_effect(OrganizationId=org_id, IpAddress=ip, Action=action, **who))


# Defaults -------------------------------------------------------------------


def test_new_organization_has_default_allow_all_rules(client: Any, org_id: str) -> None:
    """Every organization starts with allow-all access and mobile rules (Administrator Guide,
    "Working with access control rules" and "Managing mobile device access rules")."""
    rules = client.list_access_control_rules(OrganizationId=org_id)["Rules"]
    assert [(r["Name"], r["Effect"]) for r in rules] == [("DefaultAllowAll", "ALLOW")]
    assert not any(key in rules[0] and rules[0][key] for key in ("Actions", "IpRanges", "UserIds"))
    mobile = client.list_mobile_device_access_rules(OrganizationId=org_id)["Rules"]
    assert [(r["Name"], r["Effect"]) for r in mobile] == [("DefaultAllowAll", "ALLOW")]
    effect = client.get_mobile_device_access_effect(OrganizationId=org_id, DeviceType="iPhone")
    assert effect["Effect"] == "ALLOW"


# Access control rules -------------------------------------------------------


def test_put_list_replace_and_delete_access_rule(client: Any, org_id: str) -> None:
    clear_access_rules(client, org_id)
    client.put_access_control_rule(
        OrganizationId=org_id, Name="corp-only", Effect="ALLOW", Description="corporate network",
        IpRanges=["10.0.0.0/8"], Actions=["IMAP", "EWS"],
    )
    [rule] = client.list_access_control_rules(OrganizationId=org_id)["Rules"]
    assert rule["Name"] == "corp-only" and rule["Effect"] == "ALLOW"
    assert rule["Description"] == "corporate network"
    assert rule["IpRanges"] == ["10.0.0.0/8"] and rule["Actions"] == ["IMAP", "EWS"]
    created = rule["DateCreated"]
    assert rule["DateModified"] == created

    # The same name replaces the rule (API doc): conditions not restated are gone.
    client.put_access_control_rule(
        OrganizationId=org_id, Name="corp-only", Effect="DENY", Description="now a deny", NotActions=["SMTP"],
    )
    [rule] = client.list_access_control_rules(OrganizationId=org_id)["Rules"]
    assert rule["Effect"] == "DENY" and rule["Description"] == "now a deny"
    assert rule["NotActions"] == ["SMTP"]
    assert "IpRanges" not in rule and "Actions" not in rule
    assert rule["DateCreated"] == created and rule["DateModified"] >= created

    client.delete_access_control_rule(OrganizationId=org_id, Name="corp-only")
    assert client.list_access_control_rules(OrganizationId=org_id)["Rules"] == []
    # Deleting an absent rule is not an error (API doc).
    client.delete_access_control_rule(OrganizationId=org_id, Name="corp-only")
    client.delete_access_control_rule(OrganizationId=org_id, Name="never-existed")


def test_access_rules_are_listed_in_creation_order(client: Any, org_id: str) -> None:
    clear_access_rules(client, org_id)
    for name in ("zeta", "alpha", "mid"):
        put_rule(client, org_id, name, "ALLOW")
    assert [r["Name"] for r in client.list_access_control_rules(OrganizationId=org_id)["Rules"]] == [
        "zeta", "alpha", "mid",
    ]


def test_access_rule_limit(client: Any, org_id: str) -> None:
    clear_access_rules(client, org_id)
    for index in range(10):
        put_rule(client, org_id, f"rule{index}", "ALLOW")
    expect("LimitExceededException", lambda: put_rule(client, org_id, "one-too-many", "ALLOW"))
    # Replacing an existing rule is not a new one.
    put_rule(client, org_id, "rule3", "DENY")
    assert len(client.list_access_control_rules(OrganizationId=org_id)["Rules"]) == 10


def test_access_rule_validation(client: Any, org_id: str, domain: str) -> None:
    group_id = client.create_group(OrganizationId=org_id, Name=unique("g"))["GroupId"]
    bad_requests: list[tuple[str, dict[str, Any]]] = [
        ("ValidationException", {"Effect": "MAYBE"}),
        ("ValidationException", {"Name": "has space"}),
        ("ValidationException", {"IpRanges": ["10.0.0.0/33"]}),
        ("ValidationException", {"IpRanges": ["2001:db8::/32"]}),
        ("ValidationException", {"Actions": ["IMAP"] * 11}),
        ("InvalidParameterException", {"Actions": ["Pop"]}),
        ("InvalidParameterException", {"NotActions": ["imap"]}),
        ("EntityNotFoundException", {"UserIds": [str(uuid.uuid4())]}),
        ("EntityNotFoundException", {"NotUserIds": [group_id]}),
        ("ResourceNotFoundException", {"ImpersonationRoleIds": ["no-such-role"]}),
        ("ResourceNotFoundException", {"NotImpersonationRoleIds": ["no-such-role"]}),
    ]
    before = client.list_access_control_rules(OrganizationId=org_id)["Rules"]
    for code, overrides in bad_requests:
        params = {"OrganizationId": org_id, "Name": "checked", "Effect": "ALLOW", "Description": "d"}
        expect(code, partial(client.put_access_control_rule, **{**params, **overrides}))
    # Nothing was half-applied.
    assert client.list_access_control_rules(OrganizationId=org_id)["Rules"] == before


def test_access_rules_need_an_active_organization(client: Any, control: EmulatorControl) -> None:
    for call in (
        lambda: client.list_access_control_rules(OrganizationId=MISSING_ORG),
        lambda: client.delete_access_control_rule(OrganizationId=MISSING_ORG, Name="x"),
        lambda: put_rule(client, MISSING_ORG, "x", "ALLOW"),
        lambda: access_effect(client, MISSING_ORG, UserId=str(uuid.uuid4())),
    ):
        expect("OrganizationNotFoundException", call)
    control.set_timing(org_requested=60)
    try:
        pending = client.create_organization(Alias=unique("pending"))["OrganizationId"]
        expect("OrganizationStateException", lambda: put_rule(client, pending, "x", "ALLOW"))
        for listing in (client.list_mobile_device_access_rules, client.list_impersonation_roles):
            expect("OrganizationStateException", partial(listing, OrganizationId=pending))
    finally:
        control.set_timing(org_requested=0)


def test_no_rules_deny_everything(client: Any, org_id: str) -> None:
    """Deleting every rule blocks all access (Administrator Guide, "Working with access control rules")."""
    user = make_user(client, org_id)
    clear_access_rules(client, org_id)
    for action in ALL_ACTIONS:
        result = access_effect(client, org_id, action=action, UserId=user["Id"])
        assert result["Effect"] == "DENY" and result["MatchedRules"] == []


def test_allow_rule_without_conditions_allows_everything(client: Any, org_id: str) -> None:
    user = make_user(client, org_id)
    clear_access_rules(client, org_id)
    put_rule(client, org_id, "everyone", "ALLOW")
    for action in ALL_ACTIONS:
        for ip in ("0.0.0.0", "192.168.7.9", "255.255.255.255"):
            result = access_effect(client, org_id, action=action, ip=ip, UserId=user["Id"])
            assert result == {"Effect": "ALLOW", "MatchedRules": ["everyone"]}


def test_deny_wins_over_allow(client: Any, org_id: str) -> None:
    user = make_user(client, org_id)
    clear_access_rules(client, org_id)
    put_rule(client, org_id, "allow-all", "ALLOW")
    put_rule(client, org_id, "allow-imap", "ALLOW", Actions=["IMAP"])
    put_rule(client, org_id, "no-imap", "DENY", Actions=["IMAP"])
    imap = access_effect(client, org_id, action="IMAP", UserId=user["Id"])
    assert imap["Effect"] == "DENY" and imap["MatchedRules"] == ["no-imap"]
    ews = access_effect(client, org_id, action="EWS", UserId=user["Id"])
    assert ews["Effect"] == "ALLOW" and ews["MatchedRules"] == ["allow-all"]


def test_actions_and_not_actions(client: Any, org_id: str) -> None:
    user = make_user(client, org_id)
    clear_access_rules(client, org_id)
    put_rule(client, org_id, "not-legacy", "ALLOW", NotActions=["IMAP", "SMTP"])
    put_rule(client, org_id, "webmail", "ALLOW", Actions=["WebMail"])
    assert access_effect(client, org_id, action="IMAP", UserId=user["Id"])["Effect"] == "DENY"
    assert access_effect(client, org_id, action="SMTP", UserId=user["Id"])["Effect"] == "DENY"
    result = access_effect(client, org_id, action="WebMail", UserId=user["Id"])
    assert result["Effect"] == "ALLOW" and sorted(result["MatchedRules"]) == ["not-legacy", "webmail"]
    result = access_effect(client, org_id, action="ActiveSync", UserId=user["Id"])
    assert result["MatchedRules"] == ["not-legacy"]


def test_ip_ranges_are_ipv4_cidr(client: Any, org_id: str) -> None:
    user = make_user(client, org_id)
    clear_access_rules(client, org_id)
    put_rule(client, org_id, "corp", "ALLOW", IpRanges=["10.0.0.0/8", "192.168.1.128/25", "203.0.113.7/32"])
    cases = {
        "10.0.0.0": "ALLOW", "10.255.255.255": "ALLOW", "11.0.0.0": "DENY", "9.255.255.255": "DENY",
        "192.168.1.128": "ALLOW", "192.168.1.255": "ALLOW", "192.168.1.127": "DENY",
        "203.0.113.7": "ALLOW", "203.0.113.8": "DENY",
    }
    for ip, effect in cases.items():
        assert access_effect(client, org_id, ip=ip, UserId=user["Id"])["Effect"] == effect, ip
    # A deny for everything outside the office, except ActiveSync: the Guide's MDM pattern
    # (Administrator Guide, "Integrating with mobile device management solutions").
    clear_access_rules(client, org_id)
    put_rule(client, org_id, "allow-all", "ALLOW")
    put_rule(client, org_id, "outside", "DENY", NotIpRanges=["172.16.0.0/12"], NotActions=["ActiveSync"])
    uid = user["Id"]
    assert access_effect(client, org_id, action="EWS", ip="172.20.1.1", UserId=uid)["Effect"] == "ALLOW"
    assert access_effect(client, org_id, action="EWS", ip="8.8.8.8", UserId=uid)["Effect"] == "DENY"
    assert access_effect(client, org_id, action="ActiveSync", ip="8.8.8.8", UserId=uid)["Effect"] == "ALLOW"
    # /0 covers every address.
    put_rule(client, org_id, "anywhere", "DENY", IpRanges=["0.0.0.0/0"], Actions=["SMTP"])
    assert access_effect(client, org_id, action="SMTP", ip="172.20.1.1", UserId=uid)["Effect"] == "DENY"


def test_user_conditions(client: Any, org_id: str) -> None:
    alice, bob = make_user(client, org_id), make_user(client, org_id)
    clear_access_rules(client, org_id)
    put_rule(client, org_id, "only-alice", "ALLOW", UserIds=[alice["Id"]])
    assert access_effect(client, org_id, UserId=alice["Id"])["Effect"] == "ALLOW"
    assert access_effect(client, org_id, UserId=bob["Id"])["Effect"] == "DENY"
    put_rule(client, org_id, "all-but-alice", "DENY", NotUserIds=[alice["Id"]])
    put_rule(client, org_id, "allow-all", "ALLOW")
    assert access_effect(client, org_id, UserId=alice["Id"])["MatchedRules"] == ["only-alice", "allow-all"]
    result = access_effect(client, org_id, UserId=bob["Id"])
    assert result == {"Effect": "DENY", "MatchedRules": ["all-but-alice"]}
    # The stored condition names users by id.
    rules = {r["Name"]: r for r in client.list_access_control_rules(OrganizationId=org_id)["Rules"]}
    assert rules["only-alice"]["UserIds"] == [alice["Id"]]


def test_impersonation_role_conditions(client: Any, org_id: str) -> None:
    user = make_user(client, org_id)
    reader = create_role(client, org_id, rules=[{"ImpersonationRuleId": "all", "Effect": "ALLOW"}])
    other = create_role(client, org_id, rules=[{"ImpersonationRuleId": "all", "Effect": "ALLOW"}])
    clear_access_rules(client, org_id)
    put_rule(client, org_id, "reader-ews", "ALLOW", ImpersonationRoleIds=[reader], Actions=["EWS"])
    assert access_effect(client, org_id, action="EWS", ImpersonationRoleId=reader)["Effect"] == "ALLOW"
    assert access_effect(client, org_id, action="EWS", ImpersonationRoleId=other)["Effect"] == "DENY"
    # A role condition says nothing about requests a user makes without a role.
    assert access_effect(client, org_id, action="EWS", UserId=user["Id"])["Effect"] == "DENY"
    put_rule(client, org_id, "allow-all", "ALLOW")
    put_rule(client, org_id, "other-roles", "DENY", NotImpersonationRoleIds=[reader])
    assert access_effect(client, org_id, action="EWS", ImpersonationRoleId=reader)["Effect"] == "ALLOW"
    result = access_effect(client, org_id, action="EWS", ImpersonationRoleId=other)
    assert result == {"Effect": "DENY", "MatchedRules": ["other-roles"]}
    assert access_effect(client, org_id, action="EWS", UserId=user["Id"])["Effect"] == "ALLOW"


def test_access_effect_request_errors(client: Any, org_id: str) -> None:
    user = make_user(client, org_id)
    role = create_role(client, org_id)
    # A user or a role must be named (API doc).
    expect("InvalidParameterException", lambda: access_effect(client, org_id))
    # Impersonation roles work over EWS only (API Reference; Administrator Guide, "Managing impersonation roles").
    expect("InvalidParameterException",
           lambda: access_effect(client, org_id, action="IMAP", ImpersonationRoleId=role))
    uid = user["Id"]
    expect("InvalidParameterException", lambda: access_effect(client, org_id, action="Pop", UserId=uid))
    expect("EntityNotFoundException", lambda: access_effect(client, org_id, UserId=str(uuid.uuid4())))
    expect("ResourceNotFoundException",
           lambda: access_effect(client, org_id, action="EWS", ImpersonationRoleId="missing-role"))
    expect("ValidationException", lambda: access_effect(client, org_id, ip="10.0.0.256", UserId=user["Id"]))
    expect("ValidationException", lambda: access_effect(client, org_id, ip="10.0.0.0/8", UserId=user["Id"]))


# Mobile device access rules -------------------------------------------------


def create_mobile_rule(client: Any, org_id: str, name: str, effect: str, **conditions: Any) -> str:
    return str(client.create_mobile_device_access_rule(
        OrganizationId=org_id, Name=name, Effect=effect, **conditions
    )["MobileDeviceAccessRuleId"])


def mobile_effect(client: Any, org_id: str, **device: str) -> Any:
    return body(client.get_mobile_device_access_effect(OrganizationId=org_id, **device))


def test_mobile_rule_lifecycle(client: Any, org_id: str) -> None:
    clear_mobile_rules(client, org_id)
    rule_id = create_mobile_rule(
        client, org_id, "AllowLatestiOS", "ALLOW", Description="only current iOS",
        DeviceOperatingSystems=["iOS 14.3"],
    )
    [rule] = client.list_mobile_device_access_rules(OrganizationId=org_id)["Rules"]
    assert rule["MobileDeviceAccessRuleId"] == rule_id and rule["Name"] == "AllowLatestiOS"
    assert rule["DeviceOperatingSystems"] == ["iOS 14.3"] and rule["Description"] == "only current iOS"
    created = rule["DateCreated"]
    client.update_mobile_device_access_rule(
        OrganizationId=org_id, MobileDeviceAccessRuleId=rule_id, Name="AllowLatestiOS", Effect="ALLOW",
        DeviceOperatingSystems=["iOS 14.4"], DeviceTypes=["iPhone"],
    )
    [rule] = client.list_mobile_device_access_rules(OrganizationId=org_id)["Rules"]
    assert rule["DeviceOperatingSystems"] == ["iOS 14.4"] and rule["DeviceTypes"] == ["iPhone"]
    assert "Description" not in rule  # an update restates the whole rule
    assert rule["DateCreated"] == created and rule["DateModified"] >= created
    expect("EntityNotFoundException", lambda: client.update_mobile_device_access_rule(
        OrganizationId=org_id, MobileDeviceAccessRuleId="missing", Name="x", Effect="DENY",
    ))
    client.delete_mobile_device_access_rule(OrganizationId=org_id, MobileDeviceAccessRuleId=rule_id)
    assert client.list_mobile_device_access_rules(OrganizationId=org_id)["Rules"] == []
    client.delete_mobile_device_access_rule(OrganizationId=org_id, MobileDeviceAccessRuleId=rule_id)


def test_mobile_rule_client_token_is_idempotent(client: Any, org_id: str) -> None:
    clear_mobile_rules(client, org_id)
    token = unique("tok")
    request = {"OrganizationId": org_id, "ClientToken": token, "Name": "BlockAllAndroid", "Effect": "DENY",
               "DeviceTypes": ["android"]}
    first = client.create_mobile_device_access_rule(**request)["MobileDeviceAccessRuleId"]
    again = client.create_mobile_device_access_rule(**request)["MobileDeviceAccessRuleId"]
    assert first == again
    assert len(client.list_mobile_device_access_rules(OrganizationId=org_id)["Rules"]) == 1
    expect("InvalidParameterException", lambda: client.create_mobile_device_access_rule(
        OrganizationId=org_id, ClientToken=token, Name="Different", Effect="ALLOW",
    ))


def test_mobile_rule_limit_and_validation(client: Any, org_id: str) -> None:
    clear_mobile_rules(client, org_id)
    expect("ValidationException", lambda: create_mobile_rule(client, org_id, "x" * 65, "ALLOW"))
    expect("ValidationException", lambda: create_mobile_rule(client, org_id, "x", "BLOCK"))
    expect("ValidationException",
           lambda: create_mobile_rule(client, org_id, "x", "ALLOW", DeviceTypes=["a"] * 11))
    expect("InvalidParameterException",
           lambda: create_mobile_rule(client, org_id, "x", "ALLOW", NotDeviceTypes=["$NONE"]))
    for index in range(10):
        create_mobile_rule(client, org_id, f"rule {index}", "ALLOW")
    expect("LimitExceededException", lambda: create_mobile_rule(client, org_id, "eleventh", "ALLOW"))
    assert len(client.list_mobile_device_access_rules(OrganizationId=org_id)["Rules"]) == 10
    expect("OrganizationNotFoundException", lambda: create_mobile_rule(client, MISSING_ORG, "x", "ALLOW"))


def test_mobile_effect_default_deny_and_deny_precedence(client: Any, org_id: str) -> None:
    clear_mobile_rules(client, org_id)
    # No rules block every device (Administrator Guide, "Managing mobile device access rules").
    assert mobile_effect(client, org_id, DeviceType="iPhone") == {"Effect": "DENY", "MatchedRules": []}
    allow_id = create_mobile_rule(client, org_id, "AllowAll", "ALLOW")
    deny_id = create_mobile_rule(client, org_id, "BlockAllAndroid", "DENY", DeviceTypes=["android"])
    iphone = mobile_effect(client, org_id, DeviceType="iPhone", DeviceModel="iPhone10C1")
    assert iphone == {
        "Effect": "ALLOW", "MatchedRules": [{"MobileDeviceAccessRuleId": allow_id, "Name": "AllowAll"}],
    }
    # DENY wins over ALLOW; the match is a case-insensitive prefix
    # (Administrator Guide, "Managing mobile device access rules").
    android = mobile_effect(client, org_id, DeviceType="Android")
    assert android == {
        "Effect": "DENY", "MatchedRules": [{"MobileDeviceAccessRuleId": deny_id, "Name": "BlockAllAndroid"}],
    }
    assert mobile_effect(client, org_id, DeviceType="AndroidTablet")["Effect"] == "DENY"
    assert mobile_effect(client, org_id, DeviceType="MyAndroid")["Effect"] == "ALLOW"
    # A device that reports nothing matches a rule without conditions only.
    assert mobile_effect(client, org_id)["Effect"] == "ALLOW"


def test_mobile_conditions_all_must_match(client: Any, org_id: str) -> None:
    clear_mobile_rules(client, org_id)
    create_mobile_rule(
        client, org_id, "NewiPhones", "ALLOW", DeviceTypes=["iphone", "ipad"],
        DeviceOperatingSystems=["iOS 14", "iOS 15"], NotDeviceModels=["iPhone8"],
        DeviceUserAgents=["iOS/"],
    )
    good = {"DeviceType": "iPhone", "DeviceOperatingSystem": "iOS 14.2.1 16F203",
            "DeviceModel": "iPhone10C1", "DeviceUserAgent": "iOS/14.2 (18B92) exchangesyncd/1.0"}
    assert mobile_effect(client, org_id, **good)["Effect"] == "ALLOW"
    assert mobile_effect(client, org_id, **{**good, "DeviceType": "iPad"})["Effect"] == "ALLOW"
    for prop, value in (("DeviceOperatingSystem", "iOS 13.7"), ("DeviceModel", "iPhone8C2"),
                        ("DeviceUserAgent", "Android-Mail/7.7"), ("DeviceType", "Android")):
        assert mobile_effect(client, org_id, **{**good, prop: value})["Effect"] == "DENY", prop
    # A missing property fails a positive condition without $NONE, and every negative one.
    without_model = {k: v for k, v in good.items() if k != "DeviceModel"}
    assert mobile_effect(client, org_id, **without_model)["Effect"] == "DENY"


def test_mobile_none_value_and_negative_conditions(client: Any, org_id: str) -> None:
    clear_mobile_rules(client, org_id)
    # $NONE matches a device that reports no type (Administrator Guide, "Managing mobile device access rules").
    create_mobile_rule(client, org_id, "Apple", "ALLOW", DeviceTypes=["iphone", "ipad", "$NONE"])
    assert mobile_effect(client, org_id, DeviceType="iPhone")["Effect"] == "ALLOW"
    assert mobile_effect(client, org_id, DeviceModel="Pixel")["Effect"] == "ALLOW"
    assert mobile_effect(client, org_id, DeviceType="Android")["Effect"] == "DENY"
    # A literal "$NONE" is not a prefix of a reported value.
    assert mobile_effect(client, org_id, DeviceType="$NONEsuch")["Effect"] == "DENY"
    clear_mobile_rules(client, org_id)
    # Negative conditions never match a missing value (Administrator Guide, "Managing mobile device access rules").
    create_mobile_rule(client, org_id, "NotAndroid", "ALLOW", NotDeviceTypes=["android"])
    assert mobile_effect(client, org_id, DeviceType="iPhone")["Effect"] == "ALLOW"
    assert mobile_effect(client, org_id, DeviceType="android")["Effect"] == "DENY"
    assert mobile_effect(client, org_id, DeviceModel="Pixel")["Effect"] == "DENY"
    deny_id = create_mobile_rule(
        client, org_id, "DenyNonWindows", "DENY", NotDeviceOperatingSystems=["Windows"]
    )
    result = mobile_effect(client, org_id, DeviceType="iPhone", DeviceOperatingSystem="iOS 15")
    assert result["Effect"] == "DENY"
    assert result["MatchedRules"] == [{"MobileDeviceAccessRuleId": deny_id, "Name": "DenyNonWindows"}]
    # No OS reported: the DENY's negative condition does not match, so the ALLOW decides.
    assert mobile_effect(client, org_id, DeviceType="iPhone")["Effect"] == "ALLOW"


# Mobile device access overrides ---------------------------------------------


def test_override_lifecycle(client: Any, org_id: str, domain: str) -> None:
    user = make_user(client, org_id, domain)
    client.put_mobile_device_access_override(
        OrganizationId=org_id, UserId=user["Email"], DeviceId="6APMEKPHCP2ND42VIJ4BR8ECDO", Effect="DENY",
    )
    got = client.get_mobile_device_access_override(
        OrganizationId=org_id, UserId=user["Id"], DeviceId="6apmekphcp2nd42vij4br8ecdo"
    )
    assert got["UserId"] == user["Id"] and got["Effect"] == "DENY"
    assert got["DeviceId"].lower() == "6apmekphcp2nd42vij4br8ecdo"
    assert "Description" not in got
    created = got["DateCreated"]
    # The same user and device (any case) update the override (API Reference,
    # "PutMobileDeviceAccessOverride"; Administrator Guide, "Managing mobile device access overrides").
    client.put_mobile_device_access_override(
        OrganizationId=org_id, UserId=user["Name"], DeviceId="6apmekphcp2nd42vij4br8ecdo", Effect="ALLOW",
        Description="compliant per MDM",
    )
    [listed] = client.list_mobile_device_access_overrides(OrganizationId=org_id)["Overrides"]
    assert listed["Effect"] == "ALLOW" and listed["Description"] == "compliant per MDM"
    assert listed["DateCreated"] == created and listed["DateModified"] >= created
    client.delete_mobile_device_access_override(
        OrganizationId=org_id, UserId=user["Id"], DeviceId="6APMEKPHCP2ND42VIJ4BR8ECDO"
    )
    expect("ResourceNotFoundException", lambda: client.get_mobile_device_access_override(
        OrganizationId=org_id, UserId=user["Id"], DeviceId="6APMEKPHCP2ND42VIJ4BR8ECDO"
    ))
    # Deleting an absent override is not an error (API doc).
    client.delete_mobile_device_access_override(OrganizationId=org_id, UserId=user["Id"], DeviceId="ABC")


def test_override_errors(client: Any, org_id: str, domain: str) -> None:
    disabled = make_user(client, org_id)
    group_id = client.create_group(OrganizationId=org_id, Name=unique("g"))["GroupId"]
    put = client.put_mobile_device_access_override
    expect("EntityNotFoundException", partial(put, OrganizationId=org_id, UserId="nobody", DeviceId="D1",
                                              Effect="DENY"))
    expect("EntityNotFoundException", partial(put, OrganizationId=org_id, UserId=group_id, DeviceId="D1",
                                              Effect="DENY"))
    expect("EntityStateException",
           lambda: put(OrganizationId=org_id, UserId=disabled["Id"], DeviceId="D1", Effect="DENY"))
    expect("ValidationException",
           lambda: put(OrganizationId=org_id, UserId=disabled["Id"], DeviceId="has-dash", Effect="DENY"))
    expect("ValidationException",
           lambda: put(OrganizationId=org_id, UserId=disabled["Id"], DeviceId="D1", Effect="MAYBE"))
    expect("EntityNotFoundException", lambda: client.get_mobile_device_access_override(
        OrganizationId=org_id, UserId="nobody", DeviceId="D1"))
    expect("EntityNotFoundException", lambda: client.delete_mobile_device_access_override(
        OrganizationId=org_id, UserId="nobody", DeviceId="D1"))
    expect("EntityNotFoundException",
           lambda: client.list_mobile_device_access_overrides(OrganizationId=org_id, UserId="nobody"))
    expect("OrganizationNotFoundException",
           lambda: client.list_mobile_device_access_overrides(OrganizationId=MISSING_ORG))


def test_override_list_filters_and_pages(client: Any, org_id: str, domain: str) -> None:
    alice, bob = make_user(client, org_id, domain), make_user(client, org_id, domain)
    pairs = [(alice, "PHONE1"), (alice, "TABLET1"), (alice, "PHONE2"), (bob, "PHONE1")]
    for user, device in pairs:
        client.put_mobile_device_access_override(
            OrganizationId=org_id, UserId=user["Id"], DeviceId=device, Effect="ALLOW"
        )
    list_overrides = client.list_mobile_device_access_overrides
    listed = list_overrides(OrganizationId=org_id, UserId=alice["Email"])["Overrides"]
    assert sorted(o["DeviceId"] for o in listed) == ["PHONE1", "PHONE2", "TABLET1"]
    by_device = list_overrides(OrganizationId=org_id, DeviceId="phone1")["Overrides"]
    assert sorted(o["UserId"] for o in by_device) == sorted([alice["Id"], bob["Id"]])
    both = client.list_mobile_device_access_overrides(
        OrganizationId=org_id, UserId=bob["Id"], DeviceId="PHONE1"
    )["Overrides"]
    assert [(o["UserId"], o["DeviceId"]) for o in both] == [(bob["Id"], "PHONE1")]

    seen: list[tuple[str, str]] = []
    token: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"OrganizationId": org_id, "MaxResults": 3}
        if token:
            params["NextToken"] = token
        page = client.list_mobile_device_access_overrides(**params)
        assert len(page["Overrides"]) <= 3
        seen += [(o["UserId"], o["DeviceId"]) for o in page["Overrides"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 2
    assert sorted(seen) == sorted((u["Id"], d) for u, d in pairs)
    # A token belongs to the filters it was issued for.
    first = client.list_mobile_device_access_overrides(OrganizationId=org_id, MaxResults=1)
    expect("InvalidParameterException", lambda: client.list_mobile_device_access_overrides(
        OrganizationId=org_id, UserId=alice["Id"], MaxResults=1, NextToken=first["NextToken"]))


# Impersonation roles --------------------------------------------------------


def create_role(client: Any, org_id: str, rules: list[dict[str, Any]] | None = None, **extra: Any) -> str:
    params: dict[str, Any] = {"OrganizationId": org_id, "Name": unique("role"), "Type": "READ_ONLY",
                              "Rules": rules or [], **extra}
    return str(client.create_impersonation_role(**params)["ImpersonationRoleId"])


def test_impersonation_role_lifecycle(client: Any, org_id: str, domain: str) -> None:
    alice, bob = make_user(client, org_id, domain), make_user(client, org_id, domain)
    role_id = create_role(client, org_id, Name="archiver", Description="reads mail", rules=[
        {"ImpersonationRuleId": "r1", "Name": "alice by email", "Effect": "ALLOW",
         "TargetUsers": [alice["Email"]]},
        {"ImpersonationRuleId": "r2", "Effect": "DENY", "NotTargetUsers": [bob["Name"], alice["Id"]]},
    ])
    role = client.get_impersonation_role(OrganizationId=org_id, ImpersonationRoleId=role_id)
    assert role["Name"] == "archiver" and role["Type"] == "READ_ONLY" and role["Description"] == "reads mail"
    # Target users are kept as user ids ("a list of user IDs", API doc).
    assert role["Rules"] == [
        {"ImpersonationRuleId": "r1", "Name": "alice by email", "Effect": "ALLOW",
         "TargetUsers": [alice["Id"]]},
        {"ImpersonationRuleId": "r2", "Effect": "DENY", "NotTargetUsers": [bob["Id"], alice["Id"]]},
    ]
    created = role["DateCreated"]
    assert role["DateModified"] == created
    [summary] = [r for r in client.list_impersonation_roles(OrganizationId=org_id)["Roles"]
                 if r["ImpersonationRoleId"] == role_id]
    assert summary["Name"] == "archiver" and summary["Type"] == "READ_ONLY"

    client.update_impersonation_role(
        OrganizationId=org_id, ImpersonationRoleId=role_id, Name="archiver2", Type="FULL_ACCESS",
        Rules=[{"ImpersonationRuleId": "all", "Effect": "ALLOW"}],
    )
    role = client.get_impersonation_role(OrganizationId=org_id, ImpersonationRoleId=role_id)
    assert role["Name"] == "archiver2" and role["Type"] == "FULL_ACCESS" and "Description" not in role
    assert role["Rules"] == [{"ImpersonationRuleId": "all", "Effect": "ALLOW"}]
    assert role["DateCreated"] == created and role["DateModified"] >= created

    client.delete_impersonation_role(OrganizationId=org_id, ImpersonationRoleId=role_id)
    expect("ResourceNotFoundException",
           lambda: client.get_impersonation_role(OrganizationId=org_id, ImpersonationRoleId=role_id))
    expect("ResourceNotFoundException", lambda: client.update_impersonation_role(
        OrganizationId=org_id, ImpersonationRoleId=role_id, Name="x", Type="READ_ONLY", Rules=[]))
    # Deleting an absent role succeeds (the model lists no not-found error for it).
    client.delete_impersonation_role(OrganizationId=org_id, ImpersonationRoleId=role_id)


def test_impersonation_role_client_token(client: Any, org_id: str) -> None:
    token = unique("tok")
    first = create_role(client, org_id, Name="idem", ClientToken=token)
    again = create_role(client, org_id, Name="idem", ClientToken=token)
    assert first == again
    roles = client.list_impersonation_roles(OrganizationId=org_id)["Roles"]
    assert [r["Name"] for r in roles].count("idem") == 1


def test_impersonation_role_validation(client: Any, org_id: str) -> None:
    user = make_user(client, org_id)
    create_role(client, org_id, Name="taken")
    expect("InvalidParameterException", lambda: create_role(client, org_id, Name="TAKEN"))
    expect("InvalidParameterException", lambda: create_role(client, org_id, rules=[
        {"ImpersonationRuleId": "same", "Effect": "ALLOW"},
        {"ImpersonationRuleId": "same", "Effect": "DENY"}]))
    expect("InvalidParameterException", lambda: create_role(client, org_id, rules=[
        {"ImpersonationRuleId": "a", "Name": "dup", "Effect": "ALLOW"},
        {"ImpersonationRuleId": "b", "Name": "dup", "Effect": "DENY"}]))
    expect("EntityNotFoundException", lambda: create_role(client, org_id, rules=[
        {"ImpersonationRuleId": "a", "Effect": "ALLOW", "TargetUsers": [user["Id"], "ghost"]}]))
    expect("ValidationException", lambda: create_role(client, org_id, Type="ADMIN"))
    expect("ValidationException", lambda: create_role(client, org_id, Name="<script>"))
    expect("ValidationException", lambda: create_role(client, org_id, rules=[
        {"ImpersonationRuleId": "has space", "Effect": "ALLOW"}]))
    expect("ValidationException", lambda: create_role(client, org_id, rules=[
        {"ImpersonationRuleId": f"r{i}", "Effect": "ALLOW"} for i in range(11)]))
    expect("OrganizationNotFoundException", lambda: create_role(client, MISSING_ORG))
    other = create_role(client, org_id)
    expect("InvalidParameterException", lambda: client.update_impersonation_role(
        OrganizationId=org_id, ImpersonationRoleId=other, Name="taken", Type="READ_ONLY", Rules=[]))


def test_impersonation_role_limit_and_pages(client: Any, org_id: str) -> None:
    for index in range(20):
        create_role(client, org_id, Name=f"role-{index:02d}")
    expect("LimitExceededException", lambda: create_role(client, org_id, Name="role-20"))
    names: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"OrganizationId": org_id, "MaxResults": 7}
        if token:
            params["NextToken"] = token
        page = client.list_impersonation_roles(**params)
        assert len(page["Roles"]) <= 7
        names += [r["Name"] for r in page["Roles"]]
        token = page.get("NextToken")
        if not token:
            break
    assert names == [f"role-{index:02d}" for index in range(20)]
    # One page never holds more than the 20 roles the output shape allows.
    assert len(client.list_impersonation_roles(OrganizationId=org_id, MaxResults=100)["Roles"]) == 20


def role_effect(client: Any, org_id: str, role_id: str, target: str) -> Any:
    return body(client.get_impersonation_role_effect(
        OrganizationId=org_id, ImpersonationRoleId=role_id, TargetUser=target
    ))


def test_impersonation_effect(client: Any, org_id: str, domain: str) -> None:
    alice, bob, carol = (make_user(client, org_id, domain) for _ in range(3))
    # Without rules a role can impersonate nobody (Administrator Guide, "Managing impersonation roles").
    empty = create_role(client, org_id)
    assert role_effect(client, org_id, empty, alice["Id"]) == {
        "Type": "READ_ONLY", "Effect": "DENY", "MatchedRules": [],
    }
    # ALLOW without conditions: every user (Administrator Guide, "Managing impersonation roles").
    everyone = create_role(client, org_id, Type="FULL_ACCESS", rules=[
        {"ImpersonationRuleId": "all", "Name": "everyone", "Effect": "ALLOW"}])
    result = role_effect(client, org_id, everyone, bob["Email"])
    assert result == {"Type": "FULL_ACCESS", "Effect": "ALLOW",
                      "MatchedRules": [{"ImpersonationRuleId": "all", "Name": "everyone"}]}
    # DENY wins over ALLOW; NotTargetUsers matches everyone else (Administrator Guide, "Managing impersonation roles").
    mixed = create_role(client, org_id, rules=[
        {"ImpersonationRuleId": "all", "Effect": "ALLOW"},
        {"ImpersonationRuleId": "not-alice", "Effect": "DENY", "TargetUsers": [alice["Id"]]},
        {"ImpersonationRuleId": "only-bob", "Effect": "ALLOW", "TargetUsers": [bob["Id"]]},
    ])
    assert role_effect(client, org_id, mixed, alice["Name"]) == {
        "Type": "READ_ONLY", "Effect": "DENY", "MatchedRules": [{"ImpersonationRuleId": "not-alice"}]}
    assert role_effect(client, org_id, mixed, bob["Id"])["MatchedRules"] == [
        {"ImpersonationRuleId": "all"}, {"ImpersonationRuleId": "only-bob"}]
    others = create_role(client, org_id, rules=[
        {"ImpersonationRuleId": "except-carol", "Effect": "ALLOW", "NotTargetUsers": [carol["Id"]]}])
    assert role_effect(client, org_id, others, alice["Id"])["Effect"] == "ALLOW"
    assert role_effect(client, org_id, others, carol["Id"])["Effect"] == "DENY"
    # Rules follow updates at once.
    client.update_impersonation_role(OrganizationId=org_id, ImpersonationRoleId=others, Name=unique("r"),
                                     Type="READ_ONLY", Rules=[])
    assert role_effect(client, org_id, others, alice["Id"])["Effect"] == "DENY"


def test_impersonation_effect_errors(client: Any, org_id: str, domain: str) -> None:
    disabled = make_user(client, org_id)
    group_id = client.create_group(OrganizationId=org_id, Name=unique("g"))["GroupId"]
    role = create_role(client, org_id, rules=[{"ImpersonationRuleId": "all", "Effect": "ALLOW"}])
    expect("ResourceNotFoundException", lambda: role_effect(client, org_id, "missing", disabled["Id"]))
    expect("EntityNotFoundException", lambda: role_effect(client, org_id, role, "ghost"))
    expect("EntityNotFoundException", lambda: role_effect(client, org_id, role, group_id))
    expect("EntityStateException", lambda: role_effect(client, org_id, role, disabled["Id"]))


def test_assume_impersonation_role(client: Any, org_id: str) -> None:
    role = create_role(client, org_id, rules=[{"ImpersonationRuleId": "all", "Effect": "ALLOW"}])
    first = client.assume_impersonation_role(OrganizationId=org_id, ImpersonationRoleId=role)
    second = client.assume_impersonation_role(OrganizationId=org_id, ImpersonationRoleId=role)
    # A token is used within 15 minutes (Administrator Guide, "Using impersonation roles").
    assert first["ExpiresIn"] == 900
    assert len(first["Token"]) >= 32 and first["Token"] != second["Token"]
    expect("ResourceNotFoundException",
           lambda: client.assume_impersonation_role(OrganizationId=org_id, ImpersonationRoleId="missing"))
    expect("OrganizationNotFoundException",
           lambda: client.assume_impersonation_role(OrganizationId=MISSING_ORG, ImpersonationRoleId=role))
    expect("ValidationException",
           lambda: client.assume_impersonation_role(OrganizationId=org_id, ImpersonationRoleId="bad id"))
