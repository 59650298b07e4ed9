"""All tables, imported here so that `Base.metadata` knows every one (Alembic and tests rely on it)."""

from .afterhours import AfterHoursSettings, AutoReply, AutoReplyOutcome, OpeningHours
from .appointments import ACTIVE_STATUSES, Appointment, AppointmentKind, AppointmentStatus
from .audit import AuditEntry
from .base import Base, utcnow
from .broadcasts import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus
from .clinics import Clinic, Provider
from .events import Event, EventType
from .followups import (
    FollowupAnswer,
    FollowupSettings,
    FollowupStatus,
    NoshowFollowup,
    RecallDue,
    RecallInterval,
    RecallSeries,
    RecallSource,
    RecallStatus,
    RecallText,
)
from .messages import DeliveryEvent, Direction, Message, MessageStatus
from .offices import Office, OfficeMark, WorkerHeartbeat
from .patients import Channel, ConsentAction, ConsentEvent, Patient, PatientPhone, PhoneKind
from .pms_codes import PmsCode, PmsCodeKind
from .registrations import (
    BusinessProfile,
    BusinessType,
    JobPosition,
    OptInType,
    Registration,
    RegistrationKind,
    RegistrationState,
)
from .reminders import Reminder, ReminderRule, ReminderStatus, RuleCondition
from .staff import ApiToken, Role, StaffUser
from .telehealth import PatientLink, VideoEvent, VideoPurpose, VideoRoomStatus, VideoVisit
from .waitlist import (
    EntrySource,
    EntryStatus,
    OfferStatus,
    SlotStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSettings,
    WaitlistSlot,
)
from .writeback import Delivery, DeliveryStatus, Destination, DestinationKind

__all__ = [
    "ACTIVE_STATUSES",
    "AfterHoursSettings",
    "ApiToken",
    "Appointment",
    "AppointmentKind",
    "AppointmentStatus",
    "AuditEntry",
    "AutoReply",
    "AutoReplyOutcome",
    "Base",
    "Broadcast",
    "BroadcastRecipient",
    "BroadcastStatus",
    "BusinessProfile",
    "BusinessType",
    "Channel",
    "Clinic",
    "ConsentAction",
    "ConsentEvent",
    "Delivery",
    "DeliveryEvent",
    "DeliveryStatus",
    "Destination",
    "DestinationKind",
    "Direction",
    "EntrySource",
    "EntryStatus",
    "Event",
    "EventType",
    "FollowupAnswer",
    "FollowupSettings",
    "FollowupStatus",
    "JobPosition",
    "Message",
    "MessageStatus",
    "NoshowFollowup",
    "OfferStatus",
    "Office",
    "OfficeMark",
    "OpeningHours",
    "OptInType",
    "Patient",
    "PatientLink",
    "PatientPhone",
    "PhoneKind",
    "PmsCode",
    "PmsCodeKind",
    "Provider",
    "RecallDue",
    "RecallInterval",
    "RecallSeries",
    "RecallSource",
    "RecallStatus",
    "RecallText",
    "RecipientStatus",
    "Registration",
    "RegistrationKind",
    "RegistrationState",
    "Reminder",
    "ReminderRule",
    "ReminderStatus",
    "Role",
    "RuleCondition",
    "SlotStatus",
    "StaffUser",
    "VideoEvent",
    "VideoPurpose",
    "VideoRoomStatus",
    "VideoVisit",
    "WaitlistEntry",
    "WaitlistOffer",
    "WaitlistSettings",
    "WaitlistSlot",
    "WorkerHeartbeat",
    "utcnow",
]
