"""WorkMail operations, one module per area; importing this package registers them all."""

from . import access, domains, entities, mailboxes, organizations, s3, settings  # noqa: F401
