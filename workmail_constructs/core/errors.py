"""The service's error codes, read off botocore's ClientError.

Kept apart from ``api.py`` (which imports boto3) so that the kind modules, and the
handlers that use them, import without loading boto3: a handler module must import fast.
"""

from __future__ import annotations

from botocore.exceptions import ClientError


def error_code(error: BaseException) -> str | None:
    """The service's error code of a ClientError, or None for anything else."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "")) or None
    return None
