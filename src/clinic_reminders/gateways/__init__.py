"""The one boundary to Twilio: the official SDK (`TwilioGateway`), error mapping and webhook signatures."""

from .errors import ErrorAction, ErrorKind, TwilioError, error_for_code, rule_for
from .records import (
    AccountInfo,
    Alert,
    ApiKey,
    AvailableNumber,
    Balance,
    CallerId,
    CallerIdVerification,
    CallRecord,
    IncomingNumber,
    LineType,
    MessageRecord,
    PlacedCall,
    SentMessage,
    VideoRoom,
)
from .signatures import SIGNATURE_HEADER, WebhookSignatureValidator, compute_signature, path_with_query
from .twilio_gateway import TwilioGateway

__all__ = [
    "SIGNATURE_HEADER",
    "AccountInfo",
    "Alert",
    "ApiKey",
    "AvailableNumber",
    "Balance",
    "CallRecord",
    "CallerId",
    "CallerIdVerification",
    "ErrorAction",
    "ErrorKind",
    "IncomingNumber",
    "LineType",
    "MessageRecord",
    "PlacedCall",
    "SentMessage",
    "TwilioError",
    "TwilioGateway",
    "VideoRoom",
    "WebhookSignatureValidator",
    "compute_signature",
    "error_for_code",
    "path_with_query",
    "rule_for",
]
