"""``plan`` without ``--local`` reads a deployed stack's state from CloudFormation
(``deployed_stack.read_deployed_stack``): first against the emulator's CloudFormation, fed
by ``put-stack``; then end to end, a stack deployed by ``deploy --local`` and planned through
a served emulator as if it were an AWS account."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from botocore.stub import Stubber

from tests.cli_runs import APP, ENV, assert_the_branch_changes, workmail_cdk
from tests.conftest import in_process_api, make_client, unique
from workmail_constructs import cli_plan, deployed_stack
from workmail_constructs.cli_target import Target
from workmail_constructs.deployed_stack import DeployedStackError, derived_attributes, read_deployed_stack
from workmail_constructs.local import EmulatorControl, EmulatorServer
from workmail_constructs.local.clients import LOCAL_CREDENTIAL_VARIABLES
from workmail_constructs.local.deploy.assembly import StackArtifact
from workmail_constructs.local.deploy.declared import (
    CloudFormationRecord,
    DeclaredDirectory,
    declared_directories,
    deployed_directory,
    plan_directory,
)
from workmail_constructs.local.deploy.state import StackRecord, StateDirectory

ACCOUNT = "123456789012"
ORG_ID = "m-" + "0123456789abcdef" * 2
SPEC_BUCKET = {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"}


# The emulator's CloudFormation, fed by put-stack ---------------------------------------------


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with EmulatorServer().start() as running:
        yield running.endpoint_url


def cloudformation(url: str, region: str = "us-east-1") -> Any:
    return make_client(f"{url}/_cloudformation", "cloudformation", region=region)


def spec(**user: Any) -> dict[str, Any]:
    return {"version": 1, "organization": {"alias": "acme"},
            "domains": [{"name": "acme.example", "hosted_zone_id": "$ref:Zone"}],
            "users": [{"name": "alice", "display_name": "Alice", "email": "alice@acme.example",
                       "password": {"secret_id": "$ref:Password"}, **user}]}


def directory(spec_source: dict[str, Any], zone: Any = None) -> dict[str, Any]:
    return {"Type": "Custom::WorkMailDirectory", "Properties": {
        "ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]},
        "OrganizationId": {"Fn::GetAtt": ["Org", "OrganizationId"]},
        "AllowDestructive": False,
        "References": {"Password": {"Ref": "Password"}, "Zone": zone or {"Ref": "Zone"}},
        **spec_source,
    }}


def template(directory_definition: dict[str, Any]) -> dict[str, Any]:
    return {
        "Parameters": {"Team": {"Type": "String", "Default": "default-team"}},
        "Resources": {
            "Org": {"Type": "Custom::WorkMailOrganization", "Properties": {"Spec": {"alias": "acme"}}},
            "Handler": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Logs": {"Type": "AWS::Logs::LogGroup"},
            "Key": {"Type": "AWS::KMS::Key"},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"Path": "/workmail/"}},
            "PlainRole": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Password": {"Type": "AWS::SecretsManager::Secret"},
            "Zone": {"Type": "AWS::Route53::HostedZone"},
            "Domain": {"Type": "Custom::WorkMailDomain", "DependsOn": "Org"},
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Directory": directory_definition,
        },
    }


def resources(region: str) -> list[dict[str, Any]]:
    secret = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:Password-AbCdEf"
    return [
        {"LogicalResourceId": "Org", "PhysicalResourceId": ORG_ID, "ResourceType": "Custom::WorkMailOrganization"},
        {"LogicalResourceId": "Handler", "PhysicalResourceId": "Mail-Handler-1",
         "ResourceType": "AWS::Lambda::Function"},
        {"LogicalResourceId": "Logs", "PhysicalResourceId": "Mail-Logs-1", "ResourceType": "AWS::Logs::LogGroup"},
        {"LogicalResourceId": "Key", "PhysicalResourceId": "1234abcd-12ab-34cd-56ef-1234567890ab",
         "ResourceType": "AWS::KMS::Key"},
        {"LogicalResourceId": "Role", "PhysicalResourceId": "Mail-Role-1", "ResourceType": "AWS::IAM::Role"},
        {"LogicalResourceId": "PlainRole", "PhysicalResourceId": "Mail-Role-2", "ResourceType": "AWS::IAM::Role"},
        {"LogicalResourceId": "Password", "PhysicalResourceId": secret, "ResourceType": "AWS::SecretsManager::Secret"},
        {"LogicalResourceId": "Zone", "PhysicalResourceId": "Z0123456789ABC",
         "ResourceType": "AWS::Route53::HostedZone"},
        {"LogicalResourceId": "Domain", "PhysicalResourceId": f"{ORG_ID}/acme.example",
         "ResourceType": "Custom::WorkMailDomain"},
        # Its creation failed: it isn't there, whatever its physical id.
        {"LogicalResourceId": "Topic", "PhysicalResourceId": f"arn:aws:sns:{region}:{ACCOUNT}:Topic",
         "ResourceType": "AWS::SNS::Topic", "ResourceStatus": "CREATE_FAILED"},
        {"LogicalResourceId": "Directory", "PhysicalResourceId": f"{ORG_ID}/directory",
         "ResourceType": "Custom::WorkMailDirectory"},
    ]


def put(url: str, body: dict[str, Any] | str, *, region: str = "us-east-1", status: str = "CREATE_COMPLETE",
        **members: Any) -> str:
    """A deployed stack recorded in the emulator; its name."""
    name = unique("Mail")
    stack_id = f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{name}/{uuid.uuid4()}"
    EmulatorControl(url).put_stack(name, status, stack_id, Resources=resources(region),
                                   TemplateBody=body if isinstance(body, str) else json.dumps(body), **members)
    return name


def test_a_stack_that_does_not_exist_or_was_never_deployed_is_none(url: str) -> None:
    assert read_deployed_stack(cloudformation(url), "NeverDeployed") is None
    reviewed = put(url, template(directory({"Spec": spec()})), status="REVIEW_IN_PROGRESS")
    assert read_deployed_stack(cloudformation(url), reviewed) is None
    deleted = put(url, template(directory({"Spec": spec()})))
    EmulatorControl(url).put_stack(deleted, "DELETE_COMPLETE")
    assert read_deployed_stack(cloudformation(url), deleted) is None
    # Other errors are the caller's to report.
    client = cloudformation(url)
    with Stubber(client) as stubbed:
        stubbed.add_client_error("describe_stacks", "AccessDenied", "not authorized")
        with pytest.raises(ClientError, match="AccessDenied"):
            read_deployed_stack(client, "Mail")


def test_resources_attributes_and_the_directory_as_last_deployed(url: str) -> None:
    name = put(url, template(directory({"Spec": spec(department={"Ref": "Team"})})), region="eu-west-1",
               Parameters=[{"ParameterKey": "Team", "ParameterValue": "mail-team"}])
    record = read_deployed_stack(cloudformation(url, "eu-west-1"), name)
    assert isinstance(record, CloudFormationRecord)
    assert (record.name, record.region, record.account) == (name, "eu-west-1", ACCOUNT)
    assert record.stack_id.startswith(f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/{name}/")
    assert "Topic" not in record.resources
    found = {logical_id: (r.type, r.physical_id, r.attributes) for logical_id, r in record.resources.items()}
    prefix = f"arn:aws:{{}}:eu-west-1:{ACCOUNT}:"
    assert found["Org"][2] == {"OrganizationId": ORG_ID, "Arn": prefix.format("workmail") + f"organization/{ORG_ID}"}
    assert found["Handler"][2] == {"Arn": prefix.format("lambda") + "function:Mail-Handler-1"}
    assert found["Logs"][2] == {"Arn": prefix.format("logs") + "log-group:Mail-Logs-1:*"}
    assert found["Key"][2]["Arn"] == prefix.format("kms") + "key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert found["Role"][2] == {"Arn": f"arn:aws:iam::{ACCOUNT}:role/workmail/Mail-Role-1"}
    assert found["PlainRole"][2] == {"Arn": f"arn:aws:iam::{ACCOUNT}:role/Mail-Role-2"}
    assert found["Password"][1].startswith("arn:aws:secretsmanager:eu-west-1:")
    # What no physical id tells is not made up.
    assert found["Domain"][2] == {} and found["Directory"][2] == {}
    assert record.resources["Domain"].depends_on == ["Org"]

    properties = record.resources["Directory"].properties
    assert properties["OrganizationId"] == ORG_ID
    assert properties["ServiceToken"] == prefix.format("lambda") + "function:Mail-Handler-1"
    assert properties["AllowDestructive"] == "false"  # as CloudFormation sends it
    assert properties["References"] == {"Password": found["Password"][1], "Zone": "Z0123456789ABC"}
    # The stack's own parameter value, not the template's default.
    assert properties["Spec"]["users"][0]["department"] == "mail-team"
    # All other resources' properties are not evaluated.
    assert {r.properties is None for lid, r in record.resources.items() if lid != "Directory"} == {True}


def test_the_directory_of_an_unsettled_stack_is_not_known(url: str) -> None:
    name = put(url, template(directory({"Spec": spec()})), status="UPDATE_IN_PROGRESS")
    record = read_deployed_stack(cloudformation(url), name)
    assert record is not None and record.resources["Org"].attributes["OrganizationId"] == ORG_ID
    assert record.resources["Directory"].properties is None


def test_a_directory_using_a_no_echo_parameter_is_not_known(url: str) -> None:
    body = template(directory({"Spec": spec(department={"Ref": "Team"})}))
    body["Parameters"]["Team"]["NoEcho"] = "true"
    name = put(url, body, Parameters=[{"ParameterKey": "Team", "ParameterValue": "****"}])
    record = read_deployed_stack(cloudformation(url), name)
    assert record is not None and record.resources["Directory"].properties is None


def test_an_attribute_not_derived_is_known_only_after_deploy(url: str) -> None:
    unknowable = {"Fn::GetAtt": ["Domain", "HostedZoneId"]}
    body = template(directory({"Spec": spec()}, zone=unknowable))
    record = read_deployed_stack(cloudformation(url), put(url, body))
    assert record is not None
    # The deployed directory used a value CloudFormation doesn't tell: its spec isn't known.
    assert record.resources["Directory"].properties is None
    artifact = StackArtifact("Mail", body, (), None, None)
    (declared,) = declared_directories(artifact, record, default_region="us-east-1", default_account=ACCOUNT)
    assert declared.organization_id == ORG_ID and declared.deployed is None
    assert declared.spec.domains[0].hosted_zone_id == "(known after deploy: Domain.HostedZoneId)"
    # A local deploy's record (which has every attribute it made) reads as before.
    local = StackRecord(record.name, record.stack_id, record.region, record.account, record.resources)
    (as_before,) = declared_directories(artifact, local, default_region="us-east-1", default_account=ACCOUNT)
    assert as_before.spec.domains[0].hosted_zone_id == f"{ORG_ID}/acme.example.HostedZoneId"


def test_a_spec_deployed_from_s3_is_read_and_checked(url: str) -> None:
    text = json.dumps(spec(display_name="Alice from S3"))
    key = f"{hashlib.sha256(text.encode()).hexdigest()}.json"
    EmulatorControl(url).command("put-s3-object", Bucket=f"cdk-hnb659fds-assets-{ACCOUNT}-us-east-1", Key=key,
                                 Body=text)
    s3 = make_client(f"{url}/_s3", "s3")

    def deployed(sha256: str, key: str = key, client: Any = s3) -> Any:
        location = {"SpecLocation": {"Bucket": SPEC_BUCKET, "Key": key, "Sha256": sha256}}
        record = read_deployed_stack(cloudformation(url), put(url, template(directory(location))), s3=client)
        assert record is not None
        return record.resources["Directory"].properties

    properties = deployed(hashlib.sha256(text.encode()).hexdigest())
    assert "SpecLocation" not in properties and json.loads(properties["Spec"])["users"][0]["display_name"] == \
        "Alice from S3"
    spec_read = deployed_directory("Directory", properties, StackArtifact("Mail", {}, (), None, None)).spec
    assert spec_read.users[0].display_name == "Alice from S3"
    # An object that changed since, one that is gone, or no S3 to read from: the spec isn't known.
    assert deployed("0" * 64) is None
    assert deployed(hashlib.sha256(text.encode()).hexdigest(), key="gone.json") is None
    assert deployed(hashlib.sha256(text.encode()).hexdigest(), client=None) is None


def test_a_yaml_template_is_a_clear_error(url: str) -> None:
    name = put(url, "Resources:\n  Org:\n    Type: Custom::WorkMailOrganization\n")
    with pytest.raises(DeployedStackError, match=f"the deployed template of the stack {name} is not JSON"):
        read_deployed_stack(cloudformation(url), name)


def test_derived_attributes_use_the_stack_partition() -> None:
    where = {"partition": "aws-cn", "region": "cn-north-1", "account": ACCOUNT}
    assert derived_attributes("AWS::Lambda::Function", "f", {}, **where) == {
        "Arn": f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:f"}
    assert derived_attributes("AWS::IAM::Role", "r", {"Path": {"Fn::Sub": "/${AWS::Region}/"}}, **where) == {}
    # A failed create's physical id is no organization id.
    assert derived_attributes("Custom::WorkMailOrganization", "request-id", None, **where) == {}


def test_resources_page_and_templates_answer_as_cloudformation_does(url: str) -> None:
    control, cfn = EmulatorControl(url), cloudformation(url)
    name = unique("Paged")
    big = [{"LogicalResourceId": f"R{n}", "PhysicalResourceId": f"{n}-" + "x" * 400_000,
            "ResourceType": "AWS::S3::Bucket"} for n in range(3)]
    stack_id = control.put_stack(name, "CREATE_COMPLETE", Resources=big, TemplateBody='{"Resources": {}}')["StackId"]
    pages = list(cfn.get_paginator("list_stack_resources").paginate(StackName=name))
    assert len(pages) == 2, "the output is cut at 1 MB"
    summaries = [s for page in pages for s in page["StackResourceSummaries"]]
    assert [s["LogicalResourceId"] for s in summaries] == ["R0", "R1", "R2"]
    assert {(s["ResourceStatus"], s["DriftInformation"]["StackResourceDriftStatus"]) for s in summaries} == {
        ("CREATE_COMPLETE", "NOT_CHECKED")}
    with pytest.raises(ClientError, match="The NextToken is not valid"):
        cfn.list_stack_resources(StackName=name, NextToken="bm90IGEgdG9rZW4=")
    got = cfn.get_template(StackName=name, TemplateStage="Original")
    assert got["TemplateBody"] == {"Resources": {}} and got["StagesAvailable"] == ["Original", "Processed"]
    with pytest.raises(ClientError) as no_change_set:
        cfn.get_template(StackName=name, ChangeSetName="nope")
    assert no_change_set.value.response["Error"]["Code"] == "ChangeSetNotFound"
    for call in (cfn.list_stack_resources, cfn.get_template):
        with pytest.raises(ClientError, match="Stack with id Missing does not exist"):
            call(StackName="Missing")
    # An update keeps what didn't change; a deleted stack's resources are deleted, and shown by its id.
    control.put_stack(name, "UPDATE_COMPLETE", Resources=[{**big[0]}, {**big[1], "PhysicalResourceId": "new"}])
    statuses = [s["ResourceStatus"] for p in cfn.get_paginator("list_stack_resources").paginate(StackName=name)
                for s in p["StackResourceSummaries"]]
    assert statuses == ["CREATE_COMPLETE", "UPDATE_COMPLETE"]
    assert cfn.describe_stacks(StackName=name)["Stacks"][0].get("TemplateBody") is None
    control.put_stack(name, "DELETE_COMPLETE")
    gone = cfn.list_stack_resources(StackName=stack_id)["StackResourceSummaries"]
    assert {s["ResourceStatus"] for s in gone} == {"DELETE_COMPLETE"}
    assert cfn.get_template(StackName=stack_id)["TemplateBody"] == {"Resources": {}}


def test_put_stack_checks_resources_and_template(url: str) -> None:
    from workmail_constructs.local import EmulatorCommandError

    control = EmulatorControl(url)
    good = {"LogicalResourceId": "A", "PhysicalResourceId": "a", "ResourceType": "AWS::S3::Bucket"}
    for members in ({"Resources": "no"}, {"Resources": [{**good, "LogicalResourceId": "not-alnum"}]},
                    {"Resources": [good, good]}, {"Resources": [{**good, "ResourceStatus": "FINE"}]},
                    {"Resources": [{**good, "Extra": 1}]}, {"Resources": [{"LogicalResourceId": "A"}]},
                    {"TemplateBody": ""}, {"TemplateBody": {"Resources": {}}}):
        with pytest.raises(EmulatorCommandError) as refused:
            control.put_stack(unique("Checked"), "CREATE_COMPLETE", **members)
        assert refused.value.code == "InvalidParameterException", members


# plan's lookup: which endpoint, and its errors --------------------------------------------------


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, configuration or endpoint from the machine running the tests."""
    for variable in list(os.environ):
        if variable.startswith("AWS_"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def target(endpoint_url: str | None = None) -> Target:
    return Target(local=False, state_dir=Path(".workmail"), endpoint_url=endpoint_url, profile=None, region=None)


@pytest.mark.usefixtures("no_aws")
def test_plan_asks_aws_cloudformation_unless_another_endpoint_is_given(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    asked: list[str] = []
    monkeypatch.setattr(deployed_stack, "read_deployed_stack",
                        lambda client, name, s3=None: asked.append(client.meta.endpoint_url))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    # No call leaves here: the stand-in only notes where the client would go.
    cli_plan.deployed_record(target(), "Mail", None)
    assert asked == ["https://cloudformation.us-east-1.amazonaws.com"]
    assert cli_plan.deployed_record(target("http://127.0.0.1:9"), "Mail", None) is None
    assert len(asked) == 1
    note = capsys.readouterr().err.strip().splitlines()
    assert len(note) == 1 and "the deployed state of the stack Mail was not looked up" in note[0]
    assert "AWS_ENDPOINT_URL_CLOUDFORMATION" in note[0]
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", "http://127.0.0.1:9/_cloudformation")
    cli_plan.deployed_record(target("http://127.0.0.1:9"), "Mail", None)
    assert asked[1] == "http://127.0.0.1:9/_cloudformation"


@pytest.mark.usefixtures("no_aws")
def test_cloudformation_errors_are_one_line_naming_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    # Loopback, so that nothing could leave even if credentials were found.
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", "http://127.0.0.1:9/_cloudformation")
    with pytest.raises(click.ClickException) as no_credentials:
        cli_plan.deployed_record(target(), "Mail", None)
    assert isinstance(no_credentials.value.__context__, NoCredentialsError)
    assert no_credentials.value.message == ("Mail: can't read the deployed stack from CloudFormation: "
                                            "Unable to locate credentials")

    def denied(*args: Any, **kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "User: x is not\nauthorized"}},
                          "DescribeStacks")

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(click.ClickException) as unreachable:
        cli_plan.deployed_record(target("http://127.0.0.1:9"), "Mail", None)
    assert unreachable.value.message == ("Mail: can't read the deployed stack from CloudFormation: Could not "
                                         'connect to the endpoint URL: "http://127.0.0.1:9/_cloudformation"')

    monkeypatch.setattr(deployed_stack, "read_deployed_stack", denied)
    with pytest.raises(click.ClickException) as refused:
        cli_plan.deployed_record(target(), "Mail", None)
    assert refused.value.message == ("Mail: can't read the deployed stack from CloudFormation: AccessDenied: "
                                     "User: x is not authorized")


def test_an_unknown_last_deployed_spec_reads_the_whole_organization() -> None:
    """Without the spec last deployed, a scoped read would miss what the app no longer
    declares; a full read finds it (here, with prune, an undeclared user to delete)."""
    from workmail_constructs.core.reconcile import reconcile

    declared = deployed_directory("Directory", {"Spec": {"version": 1, "organization": {"alias": "acme"},
                                                         "prune": True}},
                                  StackArtifact("Mail", {}, (), None, None)).spec
    with in_process_api() as api:
        organization = reconcile(api, declared, resolve_secret=lambda ref: "unused").organization_id
        assert organization is not None
        api.call("CreateUser", OrganizationId=organization, Name="dave", DisplayName="Dave")
        known = DeclaredDirectory("Directory", declared, organization, deployed=declared)
        assert not [c.title for c in plan_directory(api, known, refresh=False).changes if c.action == "delete"]
        unknown = dataclasses.replace(known, deployed=None)
        deletes = [c.title for c in plan_directory(api, unknown, refresh=False).changes if c.action == "delete"]
        assert any("dave" in title for title in deletes), deletes


# End to end: deploy --local, then plan against the served emulator as an AWS account -----------


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The test app deployed locally, its state served by ``emulator serve``; the project and URL."""
    project = tmp_path_factory.mktemp("deployed-stack")
    for name in ("app.py", "cdk.json"):
        shutil.copy(APP / name, project / name)
    first = workmail_cdk("deploy", "--local", cwd=project)
    assert first.returncode == 0, first.stderr
    served = subprocess.Popen(
        [sys.executable, "-c", "from workmail_constructs.cli import main; main()", "emulator", "serve",
         "--state", str(project / ".workmail" / "emulator.sqlite"), "--port", "0"],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert served.stdout is not None
        endpoint = served.stdout.readline().strip()
        assert endpoint.startswith("http://127.0.0.1:"), endpoint
        yield project, endpoint
    finally:
        served.terminate()
        served.wait(timeout=30)


def plan(project: Path, *args: str, cloudformation: str | None) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in ENV.items() if not name.startswith("AWS_")}
    env.update(LOCAL_CREDENTIAL_VARIABLES, AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_MAX_ATTEMPTS="1")
    if cloudformation is not None:
        env["AWS_ENDPOINT_URL_CLOUDFORMATION"] = cloudformation
    return subprocess.run([sys.executable, "-c", "from workmail_constructs.cli import main; main()", "plan", *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_the_local_deploy_tells_cloudformation_what_it_made(deployed: tuple[Path, str]) -> None:
    project, endpoint = deployed
    record = read_deployed_stack(make_client(f"{endpoint}/_cloudformation", "cloudformation"), "LocalMail")
    local = StateDirectory(project / ".workmail").load("LocalMail")
    assert record is not None and local is not None
    assert record.stack_id == local.stack_id
    assert {k: (r.type, r.physical_id) for k, r in record.resources.items()} == {
        k: (r.type, r.physical_id) for k, r in local.resources.items()}
    # Each attribute derived is the one the local deploy made.
    for logical_id, resource in record.resources.items():
        for attribute, value in resource.attributes.items():
            assert local.resources[logical_id].attributes.get(attribute, value) == value, (logical_id, attribute)
    assert record.resources["Organization29A5FC3F"].attributes["OrganizationId"].startswith("m-")
    # Evaluated from the deployed template, the directory's properties are what the deploy sent.
    directory = "OrganizationDirectory3A39E907"
    assert record.resources[directory].properties == local.resources[directory].properties


def test_plan_of_the_deployed_stack_has_nothing_to_do(deployed: tuple[Path, str]) -> None:
    project, endpoint = deployed
    planned = plan(project, "--endpoint-url", endpoint, "--detailed-exitcode",
                   cloudformation=f"{endpoint}/_cloudformation")
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.startswith("No changes."), planned.stdout
    assert "not looked up" not in planned.stderr


def test_plan_of_a_changed_app_lists_its_changes(deployed: tuple[Path, str], tmp_path: Path) -> None:
    project, endpoint = deployed
    shutil.copy(project / "app.py", tmp_path / "app.py")
    config = json.loads((project / "cdk.json").read_text())
    (tmp_path / "cdk.json").write_text(json.dumps({**config, "context": {"variant": "changed"}}))
    planned = plan(tmp_path, "--endpoint-url", endpoint, "--detailed-exitcode",
                   cloudformation=f"{endpoint}/_cloudformation")
    assert planned.returncode == 2, planned.stderr
    assert_the_branch_changes(planned.stdout)


def test_without_the_cloudformation_endpoint_plan_says_it_did_not_look(deployed: tuple[Path, str]) -> None:
    project, endpoint = deployed
    planned = plan(project, "--endpoint-url", endpoint, cloudformation=None)
    notes = [line for line in planned.stderr.splitlines() if "not looked up" in line]
    assert notes == ["Note: the deployed state of the stack LocalMail was not looked up: with --endpoint-url, set "
                     "AWS_ENDPOINT_URL_CLOUDFORMATION to that endpoint's CloudFormation to plan against it."]
