"""Reading the TwiML our service answers with: just enough of it to play Twilio's part."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass


class TwimlError(ValueError):
    """The webhook's answer is not TwiML (Twilio reports 12100 "Document parse failure")."""


def parse(document: str) -> ET.Element:
    # The document comes from the service under test, not from the internet; Python's expat limits entity
    # expansion, and TwiML has no use for DTDs.
    if "<!DOCTYPE" in document or "<!ENTITY" in document:
        raise TwimlError("TwiML must not carry a DTD")
    try:
        root = ET.fromstring(document.strip())  # noqa: S314 (see above)
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"the root element is <{root.tag}>, not <Response>")
    return root


def text(element: ET.Element) -> str:
    return "".join(element.itertext()).strip()


@dataclass(frozen=True, slots=True)
class OutboundSms:
    body: str
    to: str | None
    from_: str | None
    status_callback: str | None


def messages(root: ET.Element) -> list[OutboundSms]:
    """The `<Message>` (and legacy `<Sms>`) verbs of a messaging (or voice) response."""
    found: list[OutboundSms] = []
    for element in root:
        if element.tag not in ("Message", "Sms"):
            continue
        body_element = element.find("Body")
        body = text(body_element) if body_element is not None else text(element)
        found.append(
            OutboundSms(
                body=body,
                to=element.get("to"),
                from_=element.get("from"),
                status_callback=element.get("statusCallback") or element.get("action"),
            )
        )
    return found
