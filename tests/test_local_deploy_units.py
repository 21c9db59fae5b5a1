"""The pieces of a local deploy that need no emulator: evaluating a template's functions,
the order of its resources, generated secrets, and stand-ins for what is not emulated."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest

from workmail_constructs.core import service_model
from workmail_constructs.local.deploy.intrinsics import Evaluator, Pseudo, TemplateError, as_sent, references
from workmail_constructs.local.deploy.resources import generate_secret, placeholder, verified_domain

PSEUDO = Pseudo(account="123456789012", region="eu-west-1", stack_name="Mail",
                stack_id="arn:aws:cloudformation:eu-west-1:123456789012:stack/Mail/1")
TEMPLATE: dict[str, Any] = {
    "Parameters": {"Stage": {"Type": "String", "Default": "prod"}},
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
                   "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]}},
    "Resources": {"Key": {"Type": "AWS::KMS::Key"}, "Fn": {"Type": "AWS::Lambda::Function"}},
}


def lookup(logical_id: str, attribute: str | None) -> Any:
    return {("Key", None): "key-id", ("Key", "Arn"): "arn:aws:kms:eu-west-1:123456789012:key/key-id",
            ("Fn", "Arn"): "arn:aws:lambda:eu-west-1:123456789012:function:f"}[(logical_id, attribute)]


EVALUATOR = Evaluator(TEMPLATE, PSEUDO, lookup)


@pytest.mark.parametrize(("expression", "expected"), [
    ({"Ref": "AWS::Region"}, "eu-west-1"),
    ({"Ref": "Stage"}, "prod"),
    ({"Ref": "Key"}, "key-id"),
    ({"Fn::GetAtt": ["Key", "Arn"]}, "arn:aws:kms:eu-west-1:123456789012:key/key-id"),
    ({"Fn::GetAtt": "Fn.Arn"}, "arn:aws:lambda:eu-west-1:123456789012:function:f"),
    ({"Fn::Join": ["-", ["a", {"Ref": "AWS::AccountId"}, 3]]}, "a-123456789012-3"),
    ({"Fn::Sub": "${AWS::StackName}/${Key.Arn}/${!Literal}"},
     "Mail/arn:aws:kms:eu-west-1:123456789012:key/key-id/${Literal}"),
    ({"Fn::Sub": ["${Name}-${Key}", {"Name": {"Ref": "Stage"}}]}, "prod-key-id"),
    ({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}, "b"),
    ({"Fn::If": ["NotProd", "test", "live"]}, "live"),
    ({"Fn::GetAZs": ""}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
    ({"A": 1, "B": {"Ref": "AWS::NoValue"}, "C": [{"Ref": "AWS::NoValue"}, "x"]}, {"A": 1, "C": ["x"]}),
])
def test_intrinsic_functions_evaluate_as_cloudformation_does(expression: Any, expected: Any) -> None:
    assert EVALUATOR.evaluate(expression, "Resource") == expected


@pytest.mark.parametrize(("expression", "message"), [
    ({"Fn::ImportValue": "Shared"}, "Resource: Fn::ImportValue is not something a local deploy can evaluate"),
    ({"Ref": "Nothing"}, "Resource: Ref to 'Nothing', which is no resource, parameter or pseudo parameter"),
    ({"Fn::If": ["Missing", 1, 2]}, "Resource: unknown condition 'Missing'"),
    ({"Fn::Join": ["", [{"A": 1}]]}, "Resource: expected a string where the template has {'A': 1}"),
])
def test_what_cannot_be_evaluated_names_the_resource(expression: Any, message: str) -> None:
    with pytest.raises(TemplateError) as raised:
        EVALUATOR.evaluate(expression, "Resource")
    assert str(raised.value) == message


def test_references_are_the_resources_an_expression_needs() -> None:
    expression = {"A": {"Ref": "Key"}, "B": {"Fn::GetAtt": ["Fn", "Arn"]}, "C": {"Ref": "AWS::Region"},
                  "D": {"Fn::Sub": ["${Role.Arn}:${Local}:${AWS::AccountId}", {"Local": {"Ref": "Queue"}}]}}
    assert references(expression) == {"Key", "Fn", "Role", "Queue"}


def test_properties_are_sent_as_strings() -> None:
    assert as_sent({"a": 1, "b": True, "c": [2.5, "x"], "d": {"e": False}}) == {
        "a": "1", "b": "true", "c": ["2.5", "x"], "d": {"e": "false"}}


def test_a_generated_secret_follows_its_options() -> None:
    value = generate_secret({"GenerateSecretString": {"PasswordLength": 24, "ExcludeCharacters": "\"'\\",
                                                      "RequireEachIncludedType": True}})
    assert len(value) == 24 and not set(value) & set("\"'\\")
    for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        assert set(value) & set(group)
    plain = generate_secret({"GenerateSecretString": {"ExcludePunctuation": "true", "PasswordLength": 40}})
    assert len(plain) == 40 and plain.isalnum()
    document = json.loads(generate_secret({"GenerateSecretString": {
        "SecretStringTemplate": '{"username": "svc"}', "GenerateStringKey": "password"}}))
    assert document["username"] == "svc" and len(document["password"]) == 32
    assert generate_secret({"SecretString": "given"}) == "given"
    with pytest.raises(ValueError, match="excludes every character"):
        generate_secret({"GenerateSecretString": {"ExcludeLowercase": True, "ExcludeUppercase": True,
                                                  "ExcludeNumbers": True, "ExcludePunctuation": True}})


@pytest.mark.parametrize(("resource_type", "shape"), [
    ("AWS::KMS::Key", "KmsKeyArn"),
    ("AWS::Lambda::Function", "LambdaArn"),
    ("AWS::IAM::Role", "RoleArn"),
    ("AWS::Logs::LogGroup", "LogGroupArn"),
])
def test_stand_in_arns_are_what_workmail_accepts(resource_type: str, shape: str) -> None:
    made = placeholder(resource_type, "Thing", PSEUDO)
    assert service_model.check(service_model.service_model().shape_for(shape), made.attributes["Arn"]) == []
    assert placeholder(resource_type, "Thing", PSEUDO) == made, "the same stand-in on every deploy"


def test_the_ownership_record_names_the_domain_it_verifies() -> None:
    assert verified_domain({"Name": "_amazonses.Example.com.", "Type": "TXT"}) == "example.com"
    assert verified_domain({"Name": "example.com.", "Type": "MX"}) is None
