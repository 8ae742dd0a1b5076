"""Connect ErrorResponse bodies. The SDK picks its exception from the HTTP status (400
ValidationException, 403 AuthorizationException, 404/409/410 ReferenceException, 5xx
PlatformException) and raises IdempotenceException for a 409 whose only error has code "1409"."""

import uuid

IDEMPOTENCE_CONFLICT_CODE = "1409"

# Connect's error categories: a bad request is the merchant's, everything else the platform's.
_CATEGORIES = {400: "PAYMENT_PLATFORM_ERROR"}
# Connect's numeric codes for the errors the sandbox gives (illustrative where Connect's are unknown).
_CODES = {
    "PARAMETER_NOT_FOUND_IN_REQUEST": "21000020",
    "REQUEST_NOT_VALID": "21000120",
    "MISSING_OR_INVALID_AUTHORIZATION": "9002",
    "MISSING_OR_INVALID_DATE": "9007",
    "MERCHANT_NOT_ALLOWED": "9006",
    "UNKNOWN_HOSTED_CHECKOUT": "1001",
    "UNKNOWN_PAYMENT": "1002",
    "NOT_FOUND": "1000",
    "REFUND_NOT_ALLOWED": "300450",
    "DUPLICATE_REQUEST_IN_PROGRESS": IDEMPOTENCE_CONFLICT_CODE,
    "SERVICE_UNAVAILABLE": "9998",
}


class ApiError(Exception):
    """Raised by the sandbox's API handlers; becomes an ErrorResponse with `status`."""

    def __init__(self, status: int, error_id: str, message: str, property_name: str | None = None):
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.property_name = property_name

    def body(self) -> dict:
        return error_response(self.status, self.error_id, self.message, self.property_name)


def error_response(
    status: int, error_id: str, message: str, property_name: str | None = None
) -> dict:
    code = _CODES.get(error_id, "9999")
    error = {
        "code": code,
        # Direct's name for the same value; Connect v1's APIError has only `code`.
        "errorCode": code,
        "id": error_id,
        "category": _CATEGORIES.get(status, "CONNECT_PLATFORM_ERROR"),
        "message": message,
        "httpStatusCode": status,
        "retriable": status >= 500,
    }
    if property_name:
        error["propertyName"] = property_name
    return {"errorId": str(uuid.uuid4()), "errors": [error]}
