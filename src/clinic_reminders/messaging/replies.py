"""Understanding a patient's answer to a reminder, in English or Spanish, without ever guessing.

A wrong guess cancels someone's appointment or confirms one they will miss, so anything contradictory, hedged,
asked as a question or too long is `unknown` and goes to a person. Twilio's own keywords are reported as such
(`carrier_keyword`, `keyword`): Twilio has already acted on them (opt-out, opt-in, help) whatever we decide.

How the webhook reads the result:
- "STOP", "CANCEL", "END"... alone: intent opt_out, carrier_keyword True, keyword "CANCEL" etc. Record the opt-out;
  for keyword "CANCEL" `needs_person` is True: flag the appointment for staff, never cancel it silently.
- "YES" alone: intent confirm, carrier_keyword True, keyword "YES", `carrier_action` opt_in: confirm the
  appointment AND record the re-subscription.
- An opt-out in other words ("stop texting me"): intent opt_out, carrier_keyword False: Twilio did nothing, so the
  opt-out is ours to record. With another request in the same text, `needs_person` is True.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .compose import Language, normalize_language
from .reply_lexicon import (
    CARRIER_KEYWORDS,
    EMOJI,
    EN_WORDS,
    ES_WORDS,
    FUZZY_KEYWORDS,
    HEDGE,
    NEGATIONS,
    NO_FUZZ,
    PHRASES,
    QUESTION_STARTS,
    REACTION_INTENTS,
    REACTIONS,
    WHOLE_MESSAGE_ONLY,
    Intent,
)

__all__ = ["Intent", "Interpretation", "interpret"]

MAX_WORDS = 15  # longer texts are conversations, not answers
_DIGITS = {"1": Intent.CONFIRM, "2": Intent.CANCEL, "3": Intent.RESCHEDULE}
_BY_FIRST_WORD: dict[str, list[tuple[int, tuple[str, ...]]]] = {}  # PHRASES indexed by first word, with their rank
for _rank, (_phrase, _meaning) in enumerate(PHRASES):
    _BY_FIRST_WORD.setdefault(_phrase[0], []).append((_rank, _phrase))


@dataclass(frozen=True)
class Interpretation:
    intent: Intent
    carrier_keyword: bool = False
    keyword: str | None = None  # the upper-case Twilio keyword when carrier_keyword
    detected_language: Language | None = None  # only from evidence in the text; None for keywords, digits, emoji
    needs_person: bool = False  # staff must look: always for unknown, also CANCEL-as-opt-out and mixed opt-outs
    reason: str = ""  # short, for the staff inbox; never quotes the message

    @property
    def carrier_action(self) -> Intent | None:
        """What Twilio itself did with the message (opt_out, opt_in or help), if it was one of its keywords."""
        return CARRIER_KEYWORDS[self.keyword] if self.carrier_keyword and self.keyword else None


def _strip_edges(text: str) -> str:
    """Drop surrounding whitespace, punctuation and control characters, as Twilio does before its keywords."""
    keep = [unicodedata.category(ch)[0] not in "PZC" for ch in text]
    if not any(keep):
        return ""
    return text[keep.index(True) : len(keep) - keep[::-1].index(True)]


def _fold(text: str) -> str:
    """Lower case, accents off, typographic apostrophes made plain: "Ahí estaré" and "ahi estare" are the same."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("\u2018", "'")
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


def _clauses(folded: str) -> list[list[str]]:
    """Words per clause; phrases never match across punctuation ("No, puedo ir" is not "no puedo")."""
    parts = re.split(r"[,.;:!?¿¡\n()\"]+|\s-\s", folded)
    return [words for part in parts if (words := [w.replace("'", "") for w in re.findall(r"[a-z0-9#']+", part)])]


def _osa(a: str, b: str) -> int:
    """Edit distance counting a swap of two neighbours as one edit ("confrim" is one edit from "confirm")."""
    before: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], before[j - 2] + 1)
        before, prev = prev, cur
    return prev[-1]


@lru_cache(maxsize=4096)
def _typo(word: str) -> Intent | None:
    """A misspelt keyword of >= 5 letters: one edit allowed, two from 8 letters; never when two intents fit."""
    if len(word) < 5 or word in NO_FUZZ or word in EN_WORDS or word in ES_WORDS or not word.isalpha():
        return None
    limit = 1 if len(word) < 8 else 2
    found = {i for key, i in FUZZY_KEYWORDS.items() if abs(len(key) - len(word)) <= limit and _osa(word, key) <= limit}
    return found.pop() if len(found) == 1 else None


def _language(raw: str, words: list[str], hint: str | None) -> Language | None:
    es = sum(w in ES_WORDS for w in words) + (2 if re.search(r"[ñ¿¡áéíóú]", raw.lower()) else 0)
    en = sum(w in EN_WORDS for w in words)
    if es != en:
        return "es" if es > en else "en"
    return normalize_language(hint) if es and hint else None


@dataclass
class _Reading:
    """What the words of a message said, before deciding."""

    signals: list[Intent]
    hedged: bool = False
    negated: bool = False  # a "no"/"not" bearing on an answer: "don't cancel", "not confirmed"
    lone_no: bool = False  # a "no" standing apart: fine with "can't make it", contradicts "I'll be there"
    numbers: bool = False  # "at 10", "the 26th": the patient is negotiating, not answering
    question: bool = False  # a clause opening like a question, "?" or not: "yes, is parking free"


def _read_clause(clause: list[str], whole_message: bool, out: _Reading) -> None:
    used = [False] * len(clause)
    starts: dict[int, tuple[Intent | str, bool]] = {}  # phrase start -> (meaning, the phrase itself is negative)
    found = [
        (rank, i, phrase)
        for i, word in enumerate(clause)
        for rank, phrase in _BY_FIRST_WORD.get(word, ())
        if tuple(clause[i : i + len(phrase)]) == phrase
    ]
    for rank, i, phrase in sorted(found):  # longest first: "won't be there" is taken before "be there"
        n = len(phrase)
        if not any(used[i : i + n]):
            used[i : i + n] = [True] * n
            starts[i] = (PHRASES[rank][1], phrase[0] in NEGATIONS)
    if not used[0] and any(tuple(clause[: len(q)]) == q for q in QUESTION_STARTS):
        out.question = True  # unless a phrase owns the opening words: "como no" is "of course"
    for i, word in enumerate(clause):
        if used[i]:
            continue
        if (digit := word.lstrip("#")) in _DIGITS:
            starts[i] = (_DIGITS[digit], False)
        elif any(ch.isdigit() for ch in word):
            out.numbers = True
        elif whole_message and word in WHOLE_MESSAGE_ONLY:
            starts[i] = (WHOLE_MESSAGE_ONLY[word], False)
        elif (typo := _typo(word)) is not None:
            starts[i] = (typo, False)
    for i, word in enumerate(clause):
        if word in NEGATIONS and not used[i]:
            ahead = [starts[j] for j in range(i + 1, i + 4) if j in starts]
            if any(isinstance(meaning, Intent) and not negative for meaning, negative in ahead):
                out.negated = True
            else:
                out.lone_no = True
    for meaning, _negative in starts.values():
        if meaning == HEDGE:
            out.hedged = True
        elif isinstance(meaning, Intent):
            out.signals.append(meaning)


def _carrier(body: str) -> Interpretation | None:
    word = _strip_edges(body).upper()
    if word not in CARRIER_KEYWORDS:
        return None
    intent = Intent.CONFIRM if word == "YES" else CARRIER_KEYWORDS[word]
    return Interpretation(intent, True, word, needs_person=word == "CANCEL", reason="carrier keyword")


def interpret(body: str, language_hint: str | None = None, opt_out_type: str | None = None) -> Interpretation:
    """What the patient meant. `language_hint` (the patient's language) only breaks a tie in `detected_language`.

    `opt_out_type` is Twilio's `OptOutType` (STOP, START or HELP), sent with Advanced Opt-Out when the text matched
    one of the account's keywords, custom ones included ("BAJA"): Twilio has acted on it, so it wins."""
    reading = _interpret(body, language_hint)
    done_by_twilio = (opt_out_type or "").upper()
    if done_by_twilio in _OPT_OUT_TYPES and reading.carrier_action != CARRIER_KEYWORDS[done_by_twilio]:
        return Interpretation(
            CARRIER_KEYWORDS[done_by_twilio],
            True,
            done_by_twilio,
            detected_language=reading.detected_language,
            reason="carrier keyword (Advanced Opt-Out)",
        )
    return reading


_OPT_OUT_TYPES = ("STOP", "START", "HELP")


def _interpret(body: str, language_hint: str | None) -> Interpretation:
    if not _strip_edges(body or ""):
        return Interpretation(Intent.UNKNOWN, needs_person=True, reason="empty")
    if (carrier := _carrier(body)) is not None:
        return carrier
    if reaction := REACTIONS.match(body.strip()):  # an iPhone tapback: judge the verb, never the quoted reminder
        intent = REACTION_INTENTS.get(_fold(reaction.group(1)), Intent.UNKNOWN)
        return Interpretation(intent, needs_person=intent == Intent.UNKNOWN, reason="reaction")

    clauses = _clauses(_fold(body))
    words = [w for clause in clauses for w in clause]
    lang = _language(body, words, language_hint)

    def unknown(reason: str) -> Interpretation:
        return Interpretation(Intent.UNKNOWN, detected_language=lang, needs_person=True, reason=reason)

    if len(words) > MAX_WORDS:
        return unknown("long free text")
    emoji = re.sub("[\U0001f3fb-\U0001f3ff\ufe0f\u200d]", "", body)  # skin tones and joiners: 👍🏽 is 👍
    reading = _Reading([EMOJI[ch] for ch in emoji if ch in EMOJI])
    for clause in clauses:
        _read_clause(clause, len(words) == 1, reading)

    intents = set(reading.signals)
    if Intent.OPT_OUT in intents:  # honoured at once, whatever else the text says; a person sees the rest
        more = len(intents) > 1 or reading.hedged or reading.negated
        reason = "opt-out with another request" if more else "clear answer"
        return Interpretation(Intent.OPT_OUT, detected_language=lang, needs_person=more, reason=reason)
    if reading.question or "?" in body or "¿" in body:
        return unknown("question")
    if reading.hedged:
        return unknown("hedged or conditional")
    if reading.negated or (reading.lone_no and Intent.CONFIRM in intents):
        return unknown("negated or contradicted")
    if reading.numbers:
        return unknown("numbers that are not an option")
    if len(intents) > 1:
        intents.discard(Intent.HELP)  # "help me reschedule" is a reschedule
    if intents == {Intent.CANCEL, Intent.RESCHEDULE}:  # "can't make it, need another day" asks for a new time
        intents = {Intent.RESCHEDULE}
    if len(intents) != 1:
        return unknown("contradictory answers" if intents else "no answer found")
    return Interpretation(intents.pop(), detected_language=lang, reason="clear answer")
