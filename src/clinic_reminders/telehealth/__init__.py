"""Telemedicine video visits (rooms, access tokens, status callbacks) and the patients' short appointment links."""

from .links import make_patient_link, revoke_links
from .rooms import Refusal, VideoUnavailable, patient_join, provider_join, start_test_chat
from .tokens import VideoToken, video_token

__all__ = [
    "Refusal",
    "VideoToken",
    "VideoUnavailable",
    "make_patient_link",
    "patient_join",
    "provider_join",
    "revoke_links",
    "start_test_chat",
    "video_token",
]
