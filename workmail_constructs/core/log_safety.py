"""Keep secrets out of logs, whatever level the logs are at.

At DEBUG, botocore logs what goes over the wire: every request body (CreateUser's and
ResetPassword's passwords, an availability configuration's EWS password), every
response body (Secrets Manager's secret values) and the signing material. Lambda turns
DEBUG on for a whole function with ``AWS_LAMBDA_LOG_LEVEL=DEBUG``, so a level alone is
no protection. A filter on those loggers drops their DEBUG records at any level
setting; their INFO and above, which carry no bodies, still pass.
"""

from __future__ import annotations

import logging

# The botocore loggers whose DEBUG records carry bodies or signing material.
WIRE_LOGGERS = ("botocore.endpoint", "botocore.parsers", "botocore.awsrequest", "botocore.auth")


class _NoWireDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_FILTER = _NoWireDebug("workmail_constructs.no_wire_debug")


def keep_secrets_out_of_logs() -> None:
    """Drop the DEBUG records of botocore's wire loggers in this process (idempotent)."""
    for name in WIRE_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
