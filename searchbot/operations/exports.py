"""A case as open-standard XML, for the police and partner registries.

* CAP 1.2 (OASIS Common Alerting Protocol, ``urn:oasis:names:tc:emergency:cap:1.2``): one
  message per ring that went out, then one for the closing, so an emergency-alert system can
  replay the search as it happened.
* PFIF 1.4 (People Finder Interchange Format, ``http://zesty.ca/pfif/1.4``): the person record
  with one note per report, sighting and closing, for missing-person registries.

Everything here is a pure function of rows already loaded (:func:`load_case_record` does the
loading), so the same case always gives byte-identical documents: identifiers, ``sent`` times and
record ids come from what was recorded, never from the clock. That stability matters: a CAP
``references`` names earlier messages by (sender, identifier, sent), and a PFIF consumer
de-duplicates by record id.

Privacy: the family's contact (``Case.contact``), the reporter's and sighters' identities, the
officers' free-text closing note and the photos never leave the bot through these exports; the
child's name goes out only with ``show_name`` (the same rule as ``SEARCHBOT_ALERT_SHOW_NAME``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.domain.clock import as_utc
from searchbot.domain.redaction import MARKER, redact
from searchbot.models import AuditEntry, Case, CaseOutcome, CaseStatus, Sighting
from searchbot.settings import Stage

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
PFIF_NS = "http://zesty.ca/pfif/1.4"
ET.register_namespace("pfif", PFIF_NS)

CAP_STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# CAP 1.2 §3.2.1: identifier and sender "MUST NOT include spaces, commas or restricted
# characters (< and &)".
CAP_FORBIDDEN = re.compile(r"[\s,<&]")
# XML 1.0 §2.2 Char: everything else (NUL, most C0 controls, lone surrogates, U+FFFE/FFFF)
# cannot appear in a document at all, escaped or not.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

PFIF_SEX = {"m": "male", "f": "female"}  # PFIF 1.4 sex: female | male | other; "u" is omitted
SEX_WORDS = {"m": "male", "f": "female"}


@dataclass(frozen=True)
class Ring:
    """One stage that went out: its index in the escalation, when, and how far it reached."""

    index: int
    at: datetime
    radius_m: int


@dataclass(frozen=True)
class CaseRecord:
    """What the exports need of one case: the row, its rings in order, its sightings in order.

    The closing is read from the case row (status, outcome, closed_at)."""

    case: Case
    rings: tuple[Ring, ...]
    sightings: tuple[Sighting, ...]

    @property
    def case_id(self) -> int:
        assert self.case.id is not None
        return self.case.id


async def load_case_record(
    session: AsyncSession, case_id: int, stages: Sequence[Stage]
) -> CaseRecord | None:
    """The case, its rings (from the ``stage`` audit entries) and its sightings; None if there
    is no such case.

    A ring's radius is ``stages[index].radius_m`` (pass ``settings.escalation``); a ring whose
    index is beyond today's configuration (the stages were shortened since) gets the widest
    configured radius rather than being dropped, so no widening disappears from the record."""
    case = await session.get(Case, case_id)
    if case is None:
        return None
    entries = (
        await session.exec(
            select(AuditEntry)
            .where(AuditEntry.case_id == case_id, AuditEntry.action == "stage")
            .order_by(col(AuditEntry.at), col(AuditEntry.id))
        )
    ).all()
    sightings = (
        await session.exec(
            select(Sighting)
            .where(Sighting.case_id == case_id)
            .order_by(col(Sighting.created_at), col(Sighting.id))
        )
    ).all()
    return CaseRecord(case, rings_from_audit(entries, stages), tuple(sightings))


def rings_from_audit(entries: Sequence[AuditEntry], stages: Sequence[Stage]) -> tuple[Ring, ...]:
    """Rings from ``stage`` audit entries in time order, each stage index once (the first)."""
    rings: list[Ring] = []
    seen: set[int] = set()
    for entry in entries:
        index = _int_or_none(entry.detail.get("stage"))
        if index is None or index < 0 or index in seen or not stages:
            continue
        seen.add(index)
        radius = stages[min(index, len(stages) - 1)].radius_m
        rings.append(Ring(index=index, at=as_utc(entry.at), radius_m=radius))
    return tuple(rings)


# ----------------------------------------------------------------------------------------- CAP


def cap_messages(
    record: CaseRecord, sender: str, *, show_name: bool = False, status: str = "Actual"
) -> list[str]:
    """The case as CAP 1.2 messages, oldest first; empty if no ring ever went out.

    * first ring: ``msgType`` Alert;
    * each later ring: ``msgType`` Update, its circle that ring's radius;
    * closing as found: Update with ``responseType`` AllClear ("the subject event no longer
      poses a threat or concern"), urgency Past;
    * closing as false alarm or withdrawn: ``msgType`` Cancel ("cancel the earlier message(s)
      identified in <references>"), the reason in ``note``, no ``info`` block.

    Every follow-up ``references`` all earlier messages (CAP 1.2 allows several, separated by
    whitespace), not only the previous one: a receiver that missed a message still links and
    retires it. ``sender`` must be CAP-valid (e.g. ``police.example.org``); ``status`` is Actual,
    or Exercise for a rehearsal."""
    if CAP_FORBIDDEN.search(sender) or not sender:
        raise ValueError("a CAP sender must not be empty or contain spaces, commas, < or &")
    if status not in CAP_STATUSES:
        raise ValueError(f"CAP status must be one of {', '.join(CAP_STATUSES)}")
    case = record.case
    messages: list[str] = []
    sent_so_far: list[str] = []
    for number, ring in enumerate(record.rings, start=1):
        kind = "Alert" if number == 1 else "Update"
        header = _CapHeader(record, sender, number, ring.at, kind, status, tuple(sent_so_far))
        alert = header.element()
        header.tail(alert)
        alert.append(_ring_info(case, ring, show_name))
        messages.append(_cap_document(alert))
        sent_so_far.append(header.extended_id)
    if record.rings and case.status == CaseStatus.CLOSED and case.closed_at is not None:
        number = len(record.rings) + 1
        kind = "Update" if case.outcome == CaseOutcome.FOUND else "Cancel"
        header = _CapHeader(
            record, sender, number, case.closed_at, kind, status, tuple(sent_so_far)
        )
        messages.append(_cap_document(_closing_alert(header, case, record.rings[-1])))
    return messages


@dataclass(frozen=True)
class _CapHeader:
    """The <alert> header fields of message ``number`` of a case."""

    record: CaseRecord
    sender: str
    number: int
    sent: datetime
    msg_type: str
    status: str
    references: tuple[str, ...]

    @property
    def identifier(self) -> str:
        return f"searchbot-{self.record.case_id}-{self.number}"

    @property
    def extended_id(self) -> str:
        """CAP 1.2 extended message identifier: ``sender,identifier,sent``."""
        return f"{self.sender},{self.identifier},{cap_datetime(self.sent)}"

    def element(self) -> ET.Element:
        alert = ET.Element(_cap("alert"))
        sub_element(alert, _cap("identifier"), self.identifier)
        sub_element(alert, _cap("sender"), self.sender)
        sub_element(alert, _cap("sent"), cap_datetime(self.sent))
        sub_element(alert, _cap("status"), self.status)
        sub_element(alert, _cap("msgType"), self.msg_type)
        sub_element(alert, _cap("scope"), "Public")
        return alert

    def tail(self, alert: ET.Element) -> None:
        """``references`` and ``incidents``, which follow ``note`` in the CAP sequence."""
        if self.references:
            sub_element(alert, _cap("references"), " ".join(self.references))
        sub_element(alert, _cap("incidents"), f"searchbot-case-{self.record.case_id}")


def _ring_info(case: Case, ring: Ring, show_name: bool) -> ET.Element:
    """The <info> of a ring: who is missing and the circle the ring covers."""
    info = _info_start(case, "Immediate", "Severe", _certainty(case, ring.at))
    sub_element(info, _cap("headline"), _headline(case, show_name))
    description = " ".join(filter(None, (person_description(case, show_name), last_seen(case))))
    sub_element(info, _cap("description"), description)
    _area(info, case, ring.radius_m)
    return info


def _closing_alert(header: _CapHeader, case: Case, last: Ring) -> ET.Element:
    alert = header.element()
    if header.msg_type == "Cancel":
        sub_element(alert, _cap("note"), _CANCEL_NOTES.get(case.outcome or "", "Search closed."))
        header.tail(alert)
        return alert
    header.tail(alert)
    info = _info_start(case, "Past", "Minor", "Observed", response="AllClear")
    sub_element(info, _cap("headline"), "Missing person found: search closed")
    sub_element(info, _cap("description"), "The missing person has been found. No action needed.")
    _area(info, case, last.radius_m)
    alert.append(info)
    return alert


_CANCEL_NOTES: dict[str, str] = {
    CaseOutcome.FALSE_ALARM: "False alarm: the person was not missing. Disregard the earlier messages.",
    CaseOutcome.WITHDRAWN: "The report was withdrawn. Disregard the earlier messages.",
}


def _info_start(
    case: Case, urgency: str, severity: str, certainty: str, response: str | None = None
) -> ET.Element:
    """An <info> up to ``certainty``, in CAP 1.2 order: language, category, event,
    responseType, urgency, severity, certainty."""
    info = ET.Element(_cap("info"))
    sub_element(info, _cap("language"), case.language or "zh")
    sub_element(info, _cap("category"), "Rescue")
    sub_element(info, _cap("event"), "Missing person")
    if response:
        sub_element(info, _cap("responseType"), response)
    sub_element(info, _cap("urgency"), urgency)
    sub_element(info, _cap("severity"), severity)
    sub_element(info, _cap("certainty"), certainty)
    return info


def _certainty(case: Case, at: datetime) -> str:
    """Observed once an officer verified the report (at or before ``at``), Likely before."""
    verified = case.verified_at is not None and as_utc(case.verified_at) <= as_utc(at)
    return "Observed" if verified else "Likely"


def cap_datetime(moment: datetime) -> str:
    """CAP 1.2 dateTime: ``2002-05-24T16:49:00-07:00``, whole seconds, no "Z"; UTC is written
    ``-00:00`` as the standard requires."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def cap_circle(lat: float, lon: float, radius_m: float) -> str:
    """CAP 1.2 circle: ``lat,lon radius`` (WGS 84 degrees, radius in kilometres)."""
    return f"{lat:.6f},{lon:.6f} {_km(radius_m)}"


def _km(radius_m: float) -> str:
    return f"{radius_m / 1000:.3f}".rstrip("0").rstrip(".")


def _area(info: ET.Element, case: Case, radius_m: int) -> None:
    """The <area>: a readable description and the ring's circle around the search centre."""
    area = ET.SubElement(info, _cap("area"))
    around = free_text(case, case.place_text) or "the last-seen place"
    sub_element(area, _cap("areaDesc"), f"Within {_km(radius_m)} km of {around}")
    sub_element(area, _cap("circle"), cap_circle(case.center_lat, case.center_lon, radius_m))


def _cap(tag: str) -> str:
    return f"{{{CAP_NS}}}{tag}"


def _cap_document(alert: ET.Element) -> str:
    ET.indent(alert, space="  ")
    return XML_DECLARATION + ET.tostring(alert, encoding="unicode", default_namespace=CAP_NS)


# -------------------------------------------------------------------------------------- shared


def person_description(case: Case, show_name: bool) -> str:
    """Age, sex and the family's description (and the name only with ``show_name``)."""
    facts = []
    if show_name and case.name:
        facts.append(f"Name: {free_text(case, case.name)}.")
    if case.age is not None:
        facts.append(f"Age: {case.age}.")
    if case.sex in SEX_WORDS:
        facts.append(f"Sex: {SEX_WORDS[case.sex]}.")
    if case.description:
        facts.append(free_text(case, case.description))
    return " ".join(facts)


def last_seen(case: Case) -> str:
    place = free_text(case, case.place_text)
    return f"Last seen {when_text(case.last_seen_at)}" + (f" at {place}." if place else ".")


def _headline(case: Case, show_name: bool) -> str:
    """A short headline (CAP advises under 160 characters)."""
    who = free_text(case, case.name) if show_name and case.name else "Missing person"
    age = f", age {case.age}" if case.age is not None else ""
    place = free_text(case, case.place_text)
    text = f"{who}{age}" + (f", last seen near {place}" if place else "")
    return text if len(text) <= 160 else text[:159] + "…"


def full_name(case: Case, show_name: bool) -> str:
    """PFIF requires full_name: the name only with ``show_name``, otherwise a neutral label."""
    if show_name and case.name:
        return free_text(case, case.name)
    return f"Missing person #{case.id}"


def when_text(moment: datetime) -> str:
    """A moment for people to read, in UTC."""
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def free_text(case: Case, text: str | None) -> str:
    """Free text typed by a person (name, description, place, sighting note) with contact
    details taken out (the family's own number however it was written, and any phone, e-mail
    or messenger id): the same redaction as the alerts, for the same reason."""
    return redact(text, MARKER, also=(case.contact,))


def sub_element(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = xml_text(text)
    return element


def xml_text(text: str) -> str:
    """``text`` as it can travel in XML 1.0: characters XML cannot carry at all (NUL, C0
    controls other than tab and newline, U+FFFE, U+FFFF) are dropped, and CR/CRLF become LF
    (every XML parser would turn them into LF anyway). Markup characters are escaped by
    ElementTree itself."""
    return _NOT_XML_CHAR.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None
