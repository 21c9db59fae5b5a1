"""Service errors the emulator returns, with the codes and HTTP statuses WorkMail uses."""

from __future__ import annotations


class ServiceError(Exception):
    """An error the service returns to the caller: a code, a message and an HTTP status."""

    code = "InternalFailure"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


def _error(code: str, status: int = 400) -> type[ServiceError]:
    return type(code, (ServiceError,), {"code": code, "status": status})


# Errors declared in the WorkMail service model.
DirectoryInUseException = _error("DirectoryInUseException")
DirectoryServiceAuthenticationFailedException = _error("DirectoryServiceAuthenticationFailedException")
DirectoryUnavailableException = _error("DirectoryUnavailableException")
EmailAddressInUseException = _error("EmailAddressInUseException")
EntityAlreadyRegisteredException = _error("EntityAlreadyRegisteredException")
EntityNotFoundException = _error("EntityNotFoundException")
EntityStateException = _error("EntityStateException")
InvalidConfigurationException = _error("InvalidConfigurationException")
InvalidCustomSesConfigurationException = _error("InvalidCustomSesConfigurationException")
InvalidParameterException = _error("InvalidParameterException")
InvalidPasswordException = _error("InvalidPasswordException")
LimitExceededException = _error("LimitExceededException")
MailDomainInUseException = _error("MailDomainInUseException")
MailDomainNotFoundException = _error("MailDomainNotFoundException")
MailDomainStateException = _error("MailDomainStateException")
NameAvailabilityException = _error("NameAvailabilityException")
OrganizationNotFoundException = _error("OrganizationNotFoundException")
OrganizationStateException = _error("OrganizationStateException")
ReservedNameException = _error("ReservedNameException")
ResourceNotFoundException = _error("ResourceNotFoundException")
TooManyTagsException = _error("TooManyTagsException")
UnsupportedOperationException = _error("UnsupportedOperationException")

# workmailmessageflow errors.
MessageFrozen = _error("MessageFrozen")
MessageRejected = _error("MessageRejected")
InvalidContentLocation = _error("InvalidContentLocation")

# Secrets Manager errors (aws_side/secrets.py); it shares InvalidParameterException and
# ResourceNotFoundException with WorkMail.
InvalidRequestException = _error("InvalidRequestException")
ResourceExistsException = _error("ResourceExistsException")
InvalidNextTokenException = _error("InvalidNextTokenException")

# Errors every AWS JSON service returns but no model declares.
ValidationException = _error("ValidationException")
SerializationException = _error("SerializationException")
UnknownOperationException = _error("UnknownOperationException")
ThrottlingException = _error("ThrottlingException")
InternalFailure = _error("InternalFailure", 500)
ServiceUnavailable = _error("ServiceUnavailable", 503)
