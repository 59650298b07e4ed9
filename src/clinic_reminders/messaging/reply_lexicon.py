"""The words patients answer reminders with, as data: replies.py holds the rules, this file the vocabulary.

Everything is written folded (lower case, no accents, apostrophes dropped: "I'll" -> "ill", "ahí" -> "ahi"),
the form replies.py reduces a message to before matching.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Intent(StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    UNKNOWN = "unknown"


# Twilio's default keywords. It acts on them only when they are the whole message.
CARRIER_KEYWORDS: dict[str, Intent] = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), Intent.OPT_OUT),
    **dict.fromkeys(("START", "YES", "UNSTOP"), Intent.OPT_IN),
    **dict.fromkeys(("HELP", "INFO"), Intent.HELP),
}

HEDGE = "hedge"  # conditional, unsure or off-topic: a person must read it
NEUTRAL = "neutral"  # politeness; consumed so its words ("no" in "no problem") mean nothing

_CONFIRM = """
yes|yep|yeah|yea|yup|yes please|ok|okay|okey|okie|kk|sure|confirm|confirmed|confirming|i confirm|absolutely|
definitely|of course|correct|will do|sounds good|sounds great|perfect|great|see you then|see you there|see you|
see ya|ill be there|i will be there|will be there|be there|well be there|we will be there|ill come|i will come|
im coming|ill make it|i can make it|i will make it|i will attend|attending|
si|claro|confirmo|confirmado|confirmada|confirmar|confirmamos|ahi estare|ahi estaremos|alli estare|alla estare|
estare ahi|estare alli|ahi nos vemos|nos vemos|si voy|voy|ire|asistire|de acuerdo|perfecto|listo|por supuesto|
esta bien|okas|vale|dale|como no
"""
_CANCEL = """
cancel|cancelled|canceled|cancelling|canceling|cancellation|please cancel|cancel it|cancel my appointment|
cant make it|cannot make it|can not make it|cant come|cannot come|cant go|cannot go|cant attend|cannot attend|
cant be there|cannot be there|wont be there|will not be there|wont make it|will not make it|wont be able to make it|
wont be able to come|not going to make it|not gonna make it|not coming|wont be coming|unable to make it|
unable to come|unable to attend|not able to make it|
no puedo|no podre|no podemos|no voy|no voy a ir|no vamos|no asistire|no ire|no podre ir|no puedo ir|cancelar|
cancelo|cancela|cancelen|cancelada|cancelado|anular|anulen
"""
_RESCHEDULE = """
reschedule|rescheduled|rescheduling|re schedule|another day|another time|another date|different day|
different time|different date|new time|new date|change my appointment|change the appointment|change the time|
change the date|change it|move my appointment|move the appointment|move it|push it back|postpone|
cambiar|cambio|cambiarla|cambiar la cita|cambiar mi cita|cambiar de fecha|otro dia|otra hora|otra fecha|
otro horario|otro momento|reprogramar|reprogramarla|reagendar|reagendarla|mover la cita|moverla|posponer
"""
_OPT_OUT = """
stop|stopall|unsubscribe|opt out|optout|revoke|remove me|stop texting|stop texting me|stop messaging me|
stop sending|no more texts|no more messages|dont text me|do not text me|dont contact me|do not contact me|
baja|darme de baja|dar de baja|no mas mensajes|no me manden mas|no me envien mas|dejen de enviarme|
dejen de mandarme|dejen de escribirme|parar|alto|detener
"""
_OPT_IN = "start|unstop|subscribe|resubscribe|start again"
_HELP = "help|ayuda|info|informacion"
_HEDGE = """
but|pero|maybe|perhaps|probably|possibly|might|not sure|unsure|depends|depende|quizas|quiza|talvez|tal vez|
probablemente|no se|no estoy seguro|no estoy segura|unless|except|excepto|aunque|although|though|if|late|later|
tarde|mas tarde|early|earlier|temprano|instead|en vez|en lugar|wrong number|numero equivocado|wrong person|
question|pregunta
"""
_NEUTRAL = """
thank you|thanks|thank u|thx|ty|gracias|muchas gracias|please|pls|plz|por favor|hi|hello|hey|hola|
buenos dias|buenas tardes|buenas noches|good morning|good afternoon|no problem|no worries|no hay problema|
sin problema|stop by|stop in|option|opcion|numero|number|sorry|perdon|lo siento
"""


def _phrases(block: str) -> list[tuple[str, ...]]:
    return [tuple(p.split()) for p in block.replace("\n", "").split("|") if p.strip()]


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


PHRASES: list[tuple[tuple[str, ...], Intent | str]] = sorted(
    [
        *((p, Intent.CONFIRM) for p in _phrases(_CONFIRM)),
        *((p, Intent.CANCEL) for p in _phrases(_CANCEL)),
        *((p, Intent.RESCHEDULE) for p in _phrases(_RESCHEDULE)),
        *((p, Intent.OPT_OUT) for p in _phrases(_OPT_OUT)),
        *((p, Intent.OPT_IN) for p in _phrases(_OPT_IN)),
        *((p, Intent.HELP) for p in _phrases(_HELP)),
        *((p, HEDGE) for p in _phrases(_HEDGE)),
        *((p, NEUTRAL) for p in _phrases(_NEUTRAL)),
    ],
    key=lambda item: -len(item[0]),
)

# Too short to be safe inside a sentence ("y" is Spanish "and"), fine as a whole answer.
WHOLE_MESSAGE_ONLY: dict[str, Intent] = {"y": Intent.CONFIRM, "k": Intent.CONFIRM}

NEGATIONS = _words("no not nope nah never dont didnt doesnt isnt cant cannot wont nunca tampoco ni")

QUESTION_STARTS = frozenset(
    _phrases(
        "who|what|whats|when|where|why|how|which|whos|quien|que|cuando|donde|por que|como|cual|cuanto|"
        "can i|can we|could i|could we|is|are|does|do i|do we|do you|did|should i|should we|puedo cambiar|se puede"
    )
)

# Single keywords whose typos are still understood; NO_FUZZ are real words one edit away from them.
FUZZY_KEYWORDS: dict[str, Intent] = {
    **dict.fromkeys(("confirm", "confirmed", "confirmo", "confirmado", "confirmar"), Intent.CONFIRM),
    **dict.fromkeys(("cancel", "cancelled", "canceled", "cancelar", "cancelo"), Intent.CANCEL),
    **dict.fromkeys(("reschedule", "reprogramar", "reagendar", "cambiar"), Intent.RESCHEDULE),
}
NO_FUZZ = frozenset({"cancer", "chancel", "conform", "conformed", "confine", "cambia"})

EMOJI: dict[str, Intent] = {
    **dict.fromkeys("👍✅👌🙂😊☺✔☑🆗", Intent.CONFIRM),
    **dict.fromkeys("❌👎✖🚫❎", Intent.CANCEL),
}

# iPhone reactions sent to a phone without iMessage: 'Liked "Alejandro, appt: ..."' (English and Spanish iOS).
REACTIONS = re.compile(
    r"^(liked|loved|disliked|laughed at|emphasized|questioned|le gust[oó]|le encant[oó]|no le gust[oó]|"
    r"enfatiz[oó]|se ri[oó] de|cuestion[oó])\s+[\"“«].*[\"”»]\s*$",
    re.IGNORECASE | re.DOTALL,
)
REACTION_INTENTS: dict[str, Intent] = {
    **dict.fromkeys(("liked", "loved", "le gusto", "le encanto"), Intent.CONFIRM),
    **dict.fromkeys(("disliked", "no le gusto"), Intent.CANCEL),
}

# Words that tell the language apart (only the unambiguous ones count).
EN_WORDS = _words(
    "yes yep yeah yup confirm confirmed cancel reschedule thanks thank you hi hello will be there see then cant "
    "make it another day time my appointment please the i ill im but maybe who is this what when sure sounds good "
    "help me can come later late wont coming change move sorry okay of course"
)
ES_WORDS = _words(
    "si confirmo confirmado confirmada confirmar cancelar cancelo cancela cancelen cita puedo podre voy gracias "
    "hola estare ahi alli nos vemos claro cambiar otro otra dia hora reprogramar reagendar mi por favor pero tal "
    "vez quien que baja ayuda asistire perfecto listo cuando donde mas tarde manana semana de la el ire "
    "acuerdo esta bien vale dale"
)
