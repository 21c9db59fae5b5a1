"""What the handlers rely on the CDK Provider framework for, checked against the framework itself.

When a Create fails, the framework answers CloudFormation with a marker physical id, and
when CloudFormation then sends the Delete of that resource, the framework answers it
without calling the handler. So the handlers have no "Delete after a failed Create" case.
This runs the framework's own response code (from the installed aws-cdk-lib) with Node.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import aws_cdk
import pytest

RUNTIME = "package/custom-resources/lib/provider-framework/runtime/"
MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"

SCRIPT = """
const outbound = require('./outbound');
const sent = [];
outbound.httpRequest = async (options, body) => { sent.push(JSON.parse(body)); };
const cfn = require('./cfn-response');
const calls = [];
const handler = cfn.safeHandler(async (event) => { calls.push(event.RequestType); throw new Error('create failed'); });
const base = {ResponseURL: 'https://cloudformation.invalid/response', StackId: 'stack', LogicalResourceId: 'Org',
              ResourceType: 'Custom::WorkMailOrganization', ResourceProperties: {}};
(async () => {
  await handler({...base, RequestType: 'Create', RequestId: 'create-1'});
  const failed = sent[0].PhysicalResourceId;
  await handler({...base, RequestType: 'Delete', RequestId: 'delete-1', PhysicalResourceId: failed});
  process.stdout.write('\\n' + JSON.stringify({calls, sent}) + '\\n');
})();
"""


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The framework's runtime files from the installed aws-cdk-lib, with its AWS SDK clients stubbed
    (the response path never calls them)."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    package = Path(aws_cdk.__file__).parent / "_jsii"
    (archive,) = package.glob("aws-cdk-lib@*.jsii.tgz")
    where = tmp_path_factory.mktemp("framework")
    with tarfile.open(archive) as tar:
        for name in ("cfn-response.js", "outbound.js", "util.js", "consts.js"):
            member = tar.getmember(RUNTIME + name)
            (where / name).write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    for sdk in ("client-lambda", "client-sfn"):
        stub = where / "node_modules" / "@aws-sdk" / sdk
        stub.mkdir(parents=True)
        (stub / "index.js").write_text("module.exports = {};\n")
    return where


def test_a_delete_after_a_failed_create_never_reaches_the_handler(runtime: Path) -> None:
    (runtime / "check.js").write_text(SCRIPT)
    output = subprocess.run(["node", "check.js"], cwd=runtime, capture_output=True, text=True, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    create, delete = result["sent"]
    assert result["calls"] == ["Create"], "the handler saw the Delete"
    assert create["Status"] == "FAILED" and create["PhysicalResourceId"] == MARKER
    assert delete["Status"] == "SUCCESS" and delete["PhysicalResourceId"] == MARKER
