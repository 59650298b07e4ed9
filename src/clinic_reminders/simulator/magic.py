"""Twilio's test-credential magic numbers, plus the simulator's own for failures Twilio reports later.

Twilio's documented ones (TWILIO.md) fail synchronously, in the REST answer. Delivery failures (30xxx) arrive
in status callbacks; the simulator maps `+1500555` + the last four digits of the code to them, e.g.
`+15005553006` is a landline (30006). Calls have a few outcomes of their own.
"""

from __future__ import annotations

MAGIC_FROM_OK = "+15005550006"
# Twilio's test numbers (+1 500 555 xxxx) reach no carrier, so carrier registration never filters them.
TEST_NUMBER_PREFIX = "+1500555"


def is_test_number(phone_number: str) -> bool:
    return phone_number.startswith(TEST_NUMBER_PREFIX)


# Messages.create: To -> error code (Twilio test credentials).
MESSAGE_TO_ERRORS: dict[str, int] = {
    "+15005550001": 21211,
    "+15005550002": 21612,
    "+15005550003": 21408,
    "+15005550004": 21610,
    "+15005550009": 21614,
}
# Messages.create: From -> error code (Twilio test credentials).
MESSAGE_FROM_ERRORS: dict[str, int] = {
    "+15005550001": 21212,
    "+15005550007": 21606,
    "+15005550008": 21611,
}
# Calls.create: To -> error code (Twilio test credentials).
CALL_TO_ERRORS: dict[str, int] = {
    "+15005550001": 21217,
    "+15005550003": 21215,
    "+15005550004": 21216,
}

# Delivery failures, reported by status callback: To -> (error code, final status).
DELIVERY_FAILURES: dict[str, tuple[int, str]] = {
    "+15005553003": (30003, "undelivered"),
    "+15005553005": (30005, "undelivered"),
    "+15005553006": (30006, "undelivered"),
    "+15005553007": (30007, "undelivered"),
    "+15005553032": (30032, "failed"),
    "+15005553034": (30034, "failed"),
}

# Calls: To -> how the call ends without anyone answering, or who answers.
CALL_OUTCOMES: dict[str, str] = {
    "+15005554001": "no-answer",
    "+15005554002": "busy",
    "+15005554003": "failed",
    "+15005554004": "machine",  # answered by voicemail (AnsweredBy=machine_start)
}

LANDLINES = frozenset({"+15005550009", "+15005553006"})
UNAVAILABLE_TO_BUY = frozenset({"+15005550000"})  # Twilio: 21422
NO_NUMBERS_AREA_CODE = "533"  # Twilio: searching this area code finds nothing

ERRORS: dict[int, tuple[int, str]] = {
    20001: (400, "Invalid value for parameter {value}"),
    20003: (401, "Authenticate"),
    20004: (405, "Method not allowed"),
    20404: (404, "The requested resource {path} was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    21201: (400, "No 'To' number is specified"),
    21205: (400, "Url parameter is required."),
    21210: (400, "The source phone number provided, {value}, is not yet verified for your account."),
    21211: (400, "The 'To' number {value} is not a valid phone number."),
    21212: (400, "The 'From' number {value} is not a valid phone number, shortcode, or alphanumeric sender ID."),
    21213: (400, "No 'From' number is specified"),
    21215: (400, "Account not authorized to call {value}."),
    21216: (400, "Call blocked: {value} is blocked."),
    21217: (400, "Phone number {value} does not appear to be valid."),
    21219: (400, "The number {value} is unverified. Trial accounts may only make calls to verified numbers."),
    21408: (
        400,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {value}.",
    ),
    21422: (400, "Phone number {value} is not available."),
    21450: (400, "Phone number {value} is already verified for your account."),
    21451: (400, "An AreaCode or a PhoneNumber is required."),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21606: (400, "The 'From' phone number provided ({value}) is not a valid message-capable Twilio phone number."),
    21608: (400, "The number {value} is unverified. Trial accounts cannot send messages to unverified numbers."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21611: (400, "This 'From' number has exceeded the maximum number of queued messages"),
    21612: (400, "The 'To' phone number: {value}, is not currently reachable using the 'From' phone number via SMS."),
    21614: (400, "'To' number {value} is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    # Messaging Services and A2P 10DLC (Twilio's error pages; 21704's text and 80104's status are unconfirmed)
    21421: (400, "Phone Number is invalid: {value}"),
    21701: (400, "The Messaging Service does not exist"),
    21704: (400, "The Messaging Service contains no phone numbers"),
    21705: (400, "The Messaging Service is invalid"),
    21711: (400, "Phone Number, Shortcode, or AlphaSender is not associated to the specified Messaging Service."),
    21712: (400, "Phone Number or Short Code is associated with another Messaging Service."),
    21715: (400, "Phone Number Does Not Have Correct Messaging Service Capabilities"),
    21717: (400, "Brand Registration SID for US A2P Campaign Use Case is Not Registered or Not Valid"),
    21724: (400, "The Brand has already been updated the maximum number of times"),
    21727: (400, "Campaign registration failed due to missing parameter(s): {value}"),
    30824: (400, "Verification rejection - Edit time expired"),
    60711: (400, "Business status does not allow updates"),
    60723: (400, "Brand status does not allow updates"),
    80104: (409, "PhoneNumber has already been added to Service"),
    53113: (400, "Room exists"),
}

DELIVERY_ERROR_MESSAGES: dict[int, str] = {
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30032: "Toll-Free Number Has Not Been Verified",
    30034: "Message from an Unregistered Number",
}
