"""A case as a PFIF 1.4 person record with its notes (the report, each sighting, the closing):
the format missing-person registries exchange. See ``exports`` for the record it is made from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from searchbot.domain.clock import as_utc
from searchbot.models import Case, CaseOutcome, CaseStatus, Sighting
from searchbot.operations.exports import (
    CAP_FORBIDDEN,
    PFIF_NS,
    PFIF_SEX,
    XML_DECLARATION,
    CaseRecord,
    free_text,
    full_name,
    last_seen,
    person_description,
    sub_element,
    when_text,
)


def pfif_document(record: CaseRecord, domain: str, show_name: bool = False) -> str:
    """The case as a PFIF 1.4 document: one ``pfif:person`` holding its notes.

    Record ids are ``<domain>/case.<id>`` (person), ``<domain>/case.<id>.report``,
    ``<domain>/sighting.<id>`` and ``<domain>/case.<id>.closing`` (notes). ``entry_date`` and
    ``source_date`` are when each record came into being here (we are the home repository).

    Note ``status`` (PFIF 1.4 value set: information_sought, is_note_author, believed_alive,
    believed_missing, believed_dead):

    * the report: information_sought (the search is seeking information);
    * a sighting: believed_alive (someone saw the person), left unspecified when an officer
      judged it not credible;
    * closing found or false alarm: believed_alive (the person was located, or never missing);
    * closing withdrawn: unspecified, as nothing is known about the person;
    * never is_note_author (the note author is not the person) and never believed_dead: the
      bot has no outcome that says so."""
    if not domain or "/" in domain or CAP_FORBIDDEN.search(domain):
        raise ValueError("the PFIF domain must be a bare domain name, e.g. police.example.org")
    case, person_id = record.case, f"{domain}/case.{record.case_id}"
    root = ET.Element(_pfif("pfif"))
    person = ET.SubElement(root, _pfif("person"))
    _person_fields(person, case, person_id, domain, show_name)
    _pfif_note(person, _report_note(case, domain, person_id))
    for sighting in record.sightings:
        _pfif_note(person, _sighting_note(case, sighting, domain, person_id))
    if case.status == CaseStatus.CLOSED and case.closed_at is not None:
        _pfif_note(person, _closing_note(case, domain, person_id))
    ET.indent(root, space="  ")
    return XML_DECLARATION + ET.tostring(root, encoding="unicode")


def _person_fields(
    person: ET.Element, case: Case, person_id: str, domain: str, show_name: bool
) -> None:
    """The person's fields in PFIF 1.4 order. No author_* (the family), no home_* (unknown:
    the last-seen place is not a home and goes in the report note), no photo_url (Telegram file
    ids are not URLs)."""
    sub_element(person, _pfif("person_record_id"), person_id)
    sub_element(person, _pfif("entry_date"), pfif_datetime(case.created_at))
    sub_element(person, _pfif("source_name"), domain)
    sub_element(person, _pfif("source_date"), pfif_datetime(case.created_at))
    sub_element(person, _pfif("full_name"), full_name(case, show_name))
    sub_element(person, _pfif("description"), person_description(case, show_name=False))
    if case.sex in PFIF_SEX:
        sub_element(person, _pfif("sex"), PFIF_SEX[case.sex])
    if case.age is not None and case.age >= 0:
        sub_element(person, _pfif("age"), str(case.age))


@dataclass(frozen=True)
class _Note:
    record_id: str
    person_id: str
    at: datetime
    status: str | None
    location: str | None
    text: str


def _report_note(case: Case, domain: str, person_id: str) -> _Note:
    return _Note(
        record_id=f"{domain}/case.{case.id}.report",
        person_id=person_id,
        at=case.created_at,
        status="information_sought",
        location=f"{case.lat:.6f},{case.lon:.6f}",
        text=f"Reported missing. {last_seen(case)}",
    )


def _sighting_note(case: Case, sighting: Sighting, domain: str, person_id: str) -> _Note:
    """A sighting as a note: when and where, and what the sighter wrote (not who they are)."""
    place = free_text(case, sighting.place_text)
    text = f"Sighting reported: seen {when_text(sighting.seen_at)}"
    text += f" at {place}." if place else "."
    if sighting.note:
        text += f" {free_text(case, sighting.note)}"
    if sighting.credible is False:
        text += " (An officer judged this sighting not credible.)"
    located = sighting.lat is not None and sighting.lon is not None
    return _Note(
        record_id=f"{domain}/sighting.{sighting.id}",
        person_id=person_id,
        at=sighting.created_at,
        status=None if sighting.credible is False else "believed_alive",
        location=f"{sighting.lat:.6f},{sighting.lon:.6f}" if located else place or None,
        text=text,
    )


_CLOSING: dict[str, tuple[str | None, str]] = {
    CaseOutcome.FOUND: ("believed_alive", "Found. The search is closed."),
    CaseOutcome.FALSE_ALARM: ("believed_alive", "False alarm: the person was not missing. Closed."),
    CaseOutcome.WITHDRAWN: (None, "The report was withdrawn. The search is closed."),
}


def _closing_note(case: Case, domain: str, person_id: str) -> _Note:
    assert case.closed_at is not None
    status, text = _CLOSING.get(case.outcome or "", (None, "The search is closed."))
    return _Note(
        record_id=f"{domain}/case.{case.id}.closing",
        person_id=person_id,
        at=case.closed_at,
        status=status,
        location=None,
        text=text,
    )


def _pfif_note(person: ET.Element, note: _Note) -> None:
    """A ``pfif:note`` in PFIF 1.4 field order; the author is always "searchbot", never the
    sighter or the family."""
    element = ET.SubElement(person, _pfif("note"))
    sub_element(element, _pfif("note_record_id"), note.record_id)
    sub_element(element, _pfif("person_record_id"), note.person_id)
    sub_element(element, _pfif("entry_date"), pfif_datetime(note.at))
    sub_element(element, _pfif("author_name"), "searchbot")
    sub_element(element, _pfif("source_date"), pfif_datetime(note.at))
    if note.status:
        sub_element(element, _pfif("status"), note.status)
    if note.location:
        sub_element(element, _pfif("last_known_location"), note.location)
    sub_element(element, _pfif("text"), note.text)


def pfif_datetime(moment: datetime) -> str:
    """PFIF date: UTC, ``yyyy-mm-ddThh:mm:ssZ``."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _pfif(tag: str) -> str:
    return f"{{{PFIF_NS}}}{tag}"
