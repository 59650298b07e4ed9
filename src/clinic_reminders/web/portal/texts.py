"""What the patient's pages say, in English and Spanish, and dates in the patient's language (Babel)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_timezone_name

from ...messaging.compose import Language, normalize_language

TEXTS: dict[Language, dict[str, str]] = {
    "en": {
        "title": "Your appointment",
        "verify_intro": "To protect your privacy, please enter your date of birth.",
        "dob": "Date of birth",
        "continue": "Continue",
        "wrong_dob": "That date of birth does not match. Attempts left: {left}.",
        "locked": "Too many attempts. For your privacy this page is locked for a while.",
        "no_dob": "We cannot show this appointment online.",
        "call_us": "Please call the clinic:",
        "gone": "This link is no longer valid.",
        "gone_generic": "This link is not valid. Please call your clinic.",
        "when": "When",
        "where": "Where",
        "provider": "Provider",
        "map": "Map",
        "video_visit": "Video visit",
        "status": "Status",
        "confirm": "Confirm",
        "cancel": "Cancel appointment",
        "cancel_question": "Cancel this appointment?",
        "reschedule": "Ask to reschedule",
        "calendar": "Add to calendar",
        "join": "Join video visit",
        "done_confirmed": "Thank you, your appointment is confirmed.",
        "done_cancelled": "Your appointment is cancelled.",
        "done_reschedule-requested": "Thank you. The clinic will call you to find a new time.",
        "cannot_change": "This appointment cannot be changed online. Please call the clinic.",
        "status_scheduled": "Scheduled",
        "status_confirmed": "Confirmed",
        "status_cancelled": "Cancelled",
        "status_reschedule-requested": "Reschedule requested",
        "status_completed": "Completed",
        "status_no-show": "Missed",
        "cookies": "Please allow cookies for this page and try again.",
        "video_title": "Video visit",
        "video_check": "Checking your camera and microphone...",
        "video_ready": "Your camera and microphone work.",
        "video_denied": "Camera or microphone access was blocked. Allow it in your browser settings, then reload.",
        "video_unsupported": "This browser cannot make video calls. Please use a recent Chrome, Safari or Firefox.",
        "video_no_device": "No camera or microphone was found. Connect one, then reload.",
        "video_join": "Join now",
        "video_connecting": "Connecting...",
        "video_waiting": "You are in the waiting room. The provider will let you in shortly.",
        "video_connected": "You are connected with your provider.",
        "video_left": "The visit has ended. You can close this page.",
        "video_too_early": "The video visit opens {minutes} minutes before your appointment. Please come back then.",
        "video_ended": "This video visit is over.",
        "video_failed": "We could not connect the video visit. Please try again or call the clinic.",
        "video_leave": "Leave",
        "back": "Back to your appointment",
    },
    "es": {
        "title": "Su cita",
        "verify_intro": "Para proteger su privacidad, escriba su fecha de nacimiento.",
        "dob": "Fecha de nacimiento",
        "continue": "Continuar",
        "wrong_dob": "La fecha de nacimiento no coincide. Intentos restantes: {left}.",
        "locked": "Demasiados intentos. Por su privacidad esta página está bloqueada por un tiempo.",
        "no_dob": "No podemos mostrar esta cita en línea.",
        "call_us": "Llame a la clínica:",
        "gone": "Este enlace ya no es válido.",
        "gone_generic": "Este enlace no es válido. Llame a su clínica.",
        "when": "Cuándo",
        "where": "Dónde",
        "provider": "Profesional",
        "map": "Mapa",
        "video_visit": "Cita por video",
        "status": "Estado",
        "confirm": "Confirmar",
        "cancel": "Cancelar la cita",
        "cancel_question": "¿Cancelar esta cita?",
        "reschedule": "Pedir otra hora",
        "calendar": "Agregar al calendario",
        "join": "Entrar a la cita por video",
        "done_confirmed": "Gracias, su cita está confirmada.",
        "done_cancelled": "Su cita está cancelada.",
        "done_reschedule-requested": "Gracias. La clínica le va a llamar para buscar otra hora.",
        "cannot_change": "Esta cita no se puede cambiar en línea. Llame a la clínica.",
        "status_scheduled": "Programada",
        "status_confirmed": "Confirmada",
        "status_cancelled": "Cancelada",
        "status_reschedule-requested": "Cambio pedido",
        "status_completed": "Realizada",
        "status_no-show": "No asistió",
        "cookies": "Permita las cookies para esta página e intente de nuevo.",
        "video_title": "Cita por video",
        "video_check": "Revisando su cámara y micrófono...",
        "video_ready": "Su cámara y micrófono funcionan.",
        "video_denied": "El acceso a la cámara o al micrófono está bloqueado. Permítalo en su navegador y recargue.",
        "video_unsupported": "Este navegador no permite videollamadas. Use Chrome, Safari, Firefox o Edge recientes.",
        "video_no_device": "No se encontró cámara ni micrófono. Conecte uno y recargue.",
        "video_join": "Entrar ahora",
        "video_connecting": "Conectando...",
        "video_waiting": "Está en la sala de espera. El profesional le dejará entrar en breve.",
        "video_connected": "Está conectado con su profesional.",
        "video_left": "La cita terminó. Puede cerrar esta página.",
        "video_too_early": "La cita por video abre {minutes} minutos antes de la hora. Vuelva entonces.",
        "video_ended": "Esta cita por video terminó.",
        "video_failed": "No pudimos conectar la cita por video. Intente de nuevo o llame a la clínica.",
        "video_leave": "Salir",
        "back": "Volver a su cita",
    },
}


def texts(language: str | None) -> dict[str, str]:
    return TEXTS[normalize_language(language)]


def babel_locale(language: str | None) -> Locale:
    try:
        return Locale.parse((language or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def local_when(starts_at: datetime, timezone: str, language: str | None) -> tuple[str, str]:
    """("Wednesday, September 30, 2026", "10:00 AM EDT") in the clinic's zone, in the patient's language."""
    locale = babel_locale(language)
    local = starts_at.astimezone(ZoneInfo(timezone))
    day = format_date(local, format="full", locale=locale)
    clock = format_time(local, format="short", locale=locale)
    zone = get_timezone_name(local, width="short", locale=locale)
    if not zone or zone[0] in "+-" or zone.startswith("GMT"):  # no abbreviation in this language: "hora oriental"
        zone = f"({get_timezone_name(local.tzinfo, width='long', locale=locale)})"
    return day, f"{clock} {zone}".replace("\u202f", " ").strip()
