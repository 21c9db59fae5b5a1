"""The other AWS services a local deploy calls, as far as it calls them: Secrets Manager
(awsJson 1.1, like WorkMail), S3 (REST-XML, path style, under ``/_s3``) and CloudFormation (the
query protocol, under ``/_cloudformation``), on the emulator's one port and in its one store.

Only real operations are served, with the shapes and errors of botocore's models; importing
this package registers them with the engine.
"""

from . import cloudformation, s3_api, secrets  # noqa: F401
