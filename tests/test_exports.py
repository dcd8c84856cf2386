"""CAP 1.2 and PFIF 1.4 exports of a case, checked against the standards' structure rules.

The official XSDs are not vendored; instead the checks below are written from the standards:

* CAP 1.2 (OASIS Standard, 1 July 2010): the element sequences of <alert>, <info> and <area>
  with their occurrences, the value sets of status, msgType, scope, category, responseType,
  urgency, severity and certainty, the dateTime form (§3.3.2: offset required, no "Z", UTC as
  -00:00), identifier/sender without spaces, commas, < or &, circle "lat,lon radius" and
  references as whitespace-separated "sender,identifier,sent".
* PFIF 1.4 (zesty.ca/pfif/1.4, May 2012): the person and note field orders, the required fields
  (person: person_record_id, source_date, full_name; note: note_record_id, author_name,
  source_date), the sex value set (female, male, other), the note status value set
  (information_sought, is_note_author, believed_alive, believed_missing, believed_dead), UTC
  dates "yyyy-mm-ddThh:mm:ssZ" and record ids "domain/local-id".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from searchbot.models import AuditEntry, Case, Sighting
from searchbot.models.db import Sessions
from searchbot.operations.exports import (
    CaseRecord,
    cap_messages,
    load_case_record,
    rings_from_audit,
    xml_text,
)
from searchbot.operations.pfif import pfif_document
from searchbot.settings import parse_stages

CAP = "urn:oasis:names:tc:emergency:cap:1.2"
PFIF = "http://zesty.ca/pfif/1.4"
SENDER = "police.example.org"
DOMAIN = "searchbot.example.org"
STAGES = parse_stages("0:300,10m:1000,30m:2500,1h:5000")
T0 = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)

PHONE = "+86 138-0013-8000"
PHONE_DIGITS = "13800138000"
NAME = "Lily Wang 王丽"
SIGHTER = "Alice Sighter"
HOSTILE = 'Red coat <b>&amp; "boots"</b> & <script>x</script> 🧒🏽 שלום عربي \u202eRLO\u202c 中文'
PLACE = "Gate <3> & 'north' 北门 ‮"

# ---------------------------------------------------------------------------- CAP 1.2 rules

UNBOUNDED = 10**6
Model = Sequence[tuple[str, int, int]]
ALERT_MODEL: Model = (
    ("identifier", 1, 1), ("sender", 1, 1), ("sent", 1, 1), ("status", 1, 1),
    ("msgType", 1, 1), ("source", 0, 1), ("scope", 1, 1), ("restriction", 0, 1),
    ("addresses", 0, 1), ("code", 0, UNBOUNDED), ("note", 0, 1), ("references", 0, 1),
    ("incidents", 0, 1), ("info", 0, UNBOUNDED),
)  # fmt: skip
INFO_MODEL: Model = (
    ("language", 0, 1), ("category", 1, UNBOUNDED), ("event", 1, 1),
    ("responseType", 0, UNBOUNDED), ("urgency", 1, 1), ("severity", 1, 1), ("certainty", 1, 1),
    ("audience", 0, 1), ("eventCode", 0, UNBOUNDED), ("effective", 0, 1), ("onset", 0, 1),
    ("expires", 0, 1), ("senderName", 0, 1), ("headline", 0, 1), ("description", 0, 1),
    ("instruction", 0, 1), ("web", 0, 1), ("contact", 0, 1), ("parameter", 0, UNBOUNDED),
    ("resource", 0, UNBOUNDED), ("area", 0, UNBOUNDED),
)  # fmt: skip
AREA_MODEL: Model = (
    ("areaDesc", 1, 1), ("polygon", 0, UNBOUNDED), ("circle", 0, UNBOUNDED),
    ("geocode", 0, UNBOUNDED), ("altitude", 0, 1), ("ceiling", 0, 1),
)  # fmt: skip
CAP_VALUES = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {
        "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
        "Infra", "CBRNE", "Other",
    },
    "responseType": {
        "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear",
        "None",
    },
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}  # fmt: skip
CAP_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")
CAP_ID = re.compile(r"^[^\s,<&]+$")
CIRCLE = re.compile(r"^(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$")


class NotValid(AssertionError):
    """The document breaks a rule of its standard."""


def check_sequence(parent: ET.Element, ns: str, model: Model) -> None:
    """``parent``'s children follow ``model`` (an XSD sequence: order and occurrences)."""
    position, counts = 0, [0] * len(model)
    for child in parent:
        namespace, _, tag = child.tag[1:].partition("}")
        if namespace != ns:
            raise NotValid(f"{child.tag} is not in {ns}")
        while position < len(model) and model[position][0] != tag:
            position += 1
        if position == len(model):
            raise NotValid(f"<{tag}> is unknown or out of order in <{_local(parent)}>")
        counts[position] += 1
        if counts[position] > model[position][2]:
            raise NotValid(f"too many <{tag}> in <{_local(parent)}>")
    for (tag, least, _), count in zip(model, counts, strict=True):
        if count < least:
            raise NotValid(f"<{_local(parent)}> lacks <{tag}>")


def check_cap(document: str) -> ET.Element:
    """Parse one CAP 1.2 message and check it; returns the <alert>."""
    alert = ET.fromstring(document.encode("utf-8"))
    if alert.tag != f"{{{CAP}}}alert":
        raise NotValid(f"root is {alert.tag}")
    check_sequence(alert, CAP, ALERT_MODEL)
    for name in ("identifier", "sender"):
        if not CAP_ID.match(_text(alert, name)):
            raise NotValid(f"{name} has spaces, commas, < or &")
    _check_datetime(_text(alert, "sent"))
    for name in ("status", "msgType", "scope"):
        _check_value(name, _text(alert, name))
    references = alert.find(f"{{{CAP}}}references")
    if _text(alert, "msgType") in ("Update", "Cancel", "Ack", "Error") and references is None:
        raise NotValid("an Update/Cancel/Ack/Error must have <references>")
    if references is not None:
        for reference in (references.text or "").split():
            sender, identifier, sent = _split_reference(reference)
            if not (CAP_ID.match(sender) and CAP_ID.match(identifier)):
                raise NotValid(f"bad reference {reference!r}")
            _check_datetime(sent)
    for info in alert.findall(f"{{{CAP}}}info"):
        _check_info(info)
    return alert


def _check_info(info: ET.Element) -> None:
    check_sequence(info, CAP, INFO_MODEL)
    for name in ("category", "responseType", "urgency", "severity", "certainty"):
        for element in info.findall(f"{{{CAP}}}{name}"):
            _check_value(name, element.text or "")
    for area in info.findall(f"{{{CAP}}}area"):
        check_sequence(area, CAP, AREA_MODEL)
        if not _text(area, "areaDesc"):
            raise NotValid("empty areaDesc")
        for circle in area.findall(f"{{{CAP}}}circle"):
            match = CIRCLE.match(circle.text or "")
            if not match or not (-90 <= float(match[1]) <= 90 and -180 <= float(match[2]) <= 180):
                raise NotValid(f"bad circle {circle.text!r}")


def _split_reference(reference: str) -> tuple[str, str, str]:
    parts = reference.split(",")
    if len(parts) != 3:
        raise NotValid(f"reference {reference!r} is not sender,identifier,sent")
    return parts[0], parts[1], parts[2]


def _check_datetime(value: str) -> None:
    if not CAP_DATETIME.match(value):
        raise NotValid(f"{value!r} is not a CAP dateTime")


def _check_value(name: str, value: str) -> None:
    if value not in CAP_VALUES[name]:
        raise NotValid(f"{name} {value!r} is not in the CAP value set")


def _text(parent: ET.Element, name: str, ns: str = CAP) -> str:
    element = parent.find(f"{{{ns}}}{name}")
    if element is None:
        raise NotValid(f"<{_local(parent)}> lacks <{name}>")
    return element.text or ""


def _local(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


# --------------------------------------------------------------------------- PFIF 1.4 rules

PERSON_FIELDS = (
    "person_record_id", "entry_date", "expiry_date", "author_name", "author_email",
    "author_phone", "source_name", "source_date", "source_url", "full_name", "given_name",
    "family_name", "alternate_names", "description", "sex", "date_of_birth", "age",
    "home_street", "home_neighborhood", "home_city", "home_state", "home_postal_code",
    "home_country", "photo_url", "profile_urls",
)  # fmt: skip
NOTE_FIELDS = (
    "note_record_id", "person_record_id", "linked_person_record_id", "entry_date",
    "author_name", "author_email", "author_phone", "source_date", "author_made_contact",
    "status", "email_of_found_person", "phone_of_found_person", "last_known_location", "text",
    "photo_url",
)  # fmt: skip
PERSON_REQUIRED = {"person_record_id", "source_date", "full_name"}
NOTE_REQUIRED = {"note_record_id", "author_name", "source_date"}
PERSON_MODEL: Model = tuple(
    (name, 1 if name in PERSON_REQUIRED else 0, 1) for name in PERSON_FIELDS
) + (("note", 0, UNBOUNDED),)
NOTE_MODEL: Model = tuple((name, 1 if name in NOTE_REQUIRED else 0, 1) for name in NOTE_FIELDS)
PFIF_STATUS = {
    "information_sought", "is_note_author", "believed_alive", "believed_missing", "believed_dead",
}  # fmt: skip
PFIF_SEX = {"female", "male", "other"}
PFIF_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
RECORD_ID = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*/.+$")
DATE_FIELDS = {"entry_date", "expiry_date", "source_date"}


def check_pfif(document: str) -> ET.Element:
    """Parse a PFIF 1.4 document and check it; returns the root."""
    root = ET.fromstring(document.encode("utf-8"))
    if root.tag != f"{{{PFIF}}}pfif":
        raise NotValid(f"root is {root.tag}")
    check_sequence(root, PFIF, (("person", 0, UNBOUNDED), ("note", 0, UNBOUNDED)))
    for person in root.findall(f"{{{PFIF}}}person"):
        check_sequence(person, PFIF, PERSON_MODEL)
        _check_pfif_fields(person)
        sex = person.find(f"{{{PFIF}}}sex")
        if sex is not None and sex.text not in PFIF_SEX:
            raise NotValid(f"sex {sex.text!r}")
        age = person.find(f"{{{PFIF}}}age")
        if age is not None and not re.match(r"^\d+(-\d+)?$", age.text or ""):
            raise NotValid(f"age {age.text!r}")
        for note in person.findall(f"{{{PFIF}}}note"):
            check_sequence(note, PFIF, NOTE_MODEL)
            _check_pfif_fields(note)
            status = note.find(f"{{{PFIF}}}status")
            if status is not None and status.text not in PFIF_STATUS:
                raise NotValid(f"status {status.text!r}")
    return root


def _check_pfif_fields(record: ET.Element) -> None:
    for field in record:
        name = _local(field)
        if name in DATE_FIELDS and not PFIF_DATE.match(field.text or ""):
            raise NotValid(f"{name} {field.text!r} is not yyyy-mm-ddThh:mm:ssZ")
        if name.endswith("record_id") and not RECORD_ID.match(field.text or ""):
            raise NotValid(f"{name} {field.text!r} is not domain/id")


# ------------------------------------------------------------------------------- the data


async def seed_case(
    sessions: Sessions,
    *,
    outcome: str | None = "found",
    rings: int = 3,
    description: str = f"{HOSTILE}\x0b\x1b Call mum on 138 0013 8000.",
) -> int:
    """A case reported at T0, verified at +5 min, rings at +0/+10/+30 min, sightings at +20
    (credible, with a location) and +40 min (not credible, place only), closed at +47 min."""
    closed = outcome is not None
    async with sessions() as session:
        case = Case(
            status="closed" if closed else "open",
            outcome=outcome,
            reporter_user_id=501,
            reporter_chat_id=501,
            language="en",
            name=NAME,
            age=6,
            sex="f",
            description=description,
            place_text=PLACE,
            lat=31.2304,
            lon=121.4737,
            center_lat=31.2305,
            center_lon=121.4738,
            last_seen_at=T0 - timedelta(minutes=15),
            contact=PHONE,
            created_at=T0,
            verified_at=T0 + timedelta(minutes=5),
            verified_by=900,
            stage=rings - 1,
            closed_at=T0 + timedelta(minutes=47) if closed else None,
            closed_by=900 if closed else None,
            close_note=f"closed by sergeant, family at {PHONE}" if closed else None,
        )
        session.add(case)
        await session.flush()
        assert case.id is not None
        minutes = (0, 10, 30, 60)
        for index in range(rings):
            at = T0 + timedelta(minutes=minutes[index])
            session.add(_audit(at, "stage", case.id, stage=index, groups=4))
        # an officer's /escalate is audited beside the "stage" entry: it must not add a ring
        session.add(_audit(T0 + timedelta(minutes=9), "escalate", case.id, stage=1))
        session.add(
            Sighting(
                case_id=case.id,
                reporter_user_id=777,
                reporter_name=SIGHTER,
                source="reply",
                lat=31.2401,
                lon=121.4801,
                place_text="Bus stop <12>",
                note=f"Holding a balloon. {HOSTILE}",
                seen_at=T0 + timedelta(minutes=18),
                created_at=T0 + timedelta(minutes=20),
                credible=True,
            )
        )
        session.add(
            Sighting(
                case_id=case.id,
                reporter_user_id=778,
                reporter_name="Bob Witness",
                source="deeplink",
                place_text="Metro line 2",
                note="Maybe her? my number 13800138000 is her mum's",
                seen_at=T0 + timedelta(minutes=39),
                created_at=T0 + timedelta(minutes=40),
                credible=False,
            )
        )
        await session.commit()
        return case.id


def _audit(at: datetime, action: str, case_id: int, **detail: Any) -> AuditEntry:
    return AuditEntry(at=at, actor_user_id=None, action=action, case_id=case_id, detail=detail)


async def record_of(sessions: Sessions, case_id: int) -> CaseRecord:
    async with sessions() as session:
        record = await load_case_record(session, case_id, STAGES)
    assert record is not None
    return record


def cap_time(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"


def find(parent: ET.Element, path: str, ns: str = CAP) -> str:
    """The text at ``path`` (slash-separated local names) under ``parent``."""
    element = parent.find("/".join(f"{{{ns}}}{part}" for part in path.split("/")))
    assert element is not None, path
    return element.text or ""


# ------------------------------------------------------------------------------ the tests


async def test_found_case_is_an_alert_two_updates_and_an_all_clear(sessions: Sessions) -> None:
    case_id = await seed_case(sessions, outcome="found")
    messages = cap_messages(await record_of(sessions, case_id), SENDER)
    alerts = [check_cap(message) for message in messages]

    assert [find(a, "msgType") for a in alerts] == ["Alert", "Update", "Update", "Update"]
    assert [find(a, "identifier") for a in alerts] == [
        f"searchbot-{case_id}-{n}" for n in (1, 2, 3, 4)
    ]
    assert [find(a, "sent") for a in alerts] == [cap_time(m) for m in (0, 10, 30, 47)]
    assert {find(a, "status") for a in alerts} == {"Actual"}
    assert {find(a, "scope") for a in alerts} == {"Public"}
    # each ring's circle is centred on the search centre with that ring's radius in km
    circles = [find(a, "info/area/circle") for a in alerts]
    assert circles == [
        "31.230500,121.473800 0.3",
        "31.230500,121.473800 1",
        "31.230500,121.473800 2.5",
        "31.230500,121.473800 2.5",
    ]
    ring_infos = [a.find(f"{{{CAP}}}info") for a in alerts[:3]]
    for info in ring_infos:
        assert info is not None
        assert find(info, "category") == "Rescue"
        assert find(info, "event") == "Missing person"
        assert (find(info, "urgency"), find(info, "severity")) == ("Immediate", "Severe")
    # verified at +5 min: the first ring went out unverified
    assert [find(a, "info/certainty") for a in alerts[:3]] == ["Likely", "Observed", "Observed"]
    # the closing: an Update whose info says AllClear, urgency Past
    closing = alerts[3]
    assert find(closing, "info/responseType") == "AllClear"
    assert find(closing, "info/urgency") == "Past"
    assert "responseType" not in "".join(messages[:3])


async def test_every_follow_up_references_all_earlier_messages(sessions: Sessions) -> None:
    case_id = await seed_case(sessions, outcome="found")
    alerts = [check_cap(m) for m in cap_messages(await record_of(sessions, case_id), SENDER)]
    extended = [f"{SENDER},{find(a, 'identifier')},{find(a, 'sent')}" for a in alerts]

    assert alerts[0].find(f"{{{CAP}}}references") is None
    for number in range(1, len(alerts)):
        assert find(alerts[number], "references").split() == extended[:number]
    assert {find(a, "incidents") for a in alerts} == {f"searchbot-case-{case_id}"}


@pytest.mark.parametrize("outcome", ["false_alarm", "withdrawn"])
async def test_false_alarm_or_withdrawal_cancels(sessions: Sessions, outcome: str) -> None:
    case_id = await seed_case(sessions, outcome=outcome)
    alerts = [check_cap(m) for m in cap_messages(await record_of(sessions, case_id), SENDER)]

    assert [find(a, "msgType") for a in alerts] == ["Alert", "Update", "Update", "Cancel"]
    cancel = alerts[-1]
    assert cancel.find(f"{{{CAP}}}info") is None
    assert find(cancel, "note")
    assert len(find(cancel, "references").split()) == 3
    assert find(cancel, "sent") == cap_time(47)


async def test_open_case_has_no_closing_and_no_ring_means_no_message(
    sessions: Sessions,
) -> None:
    open_case = await seed_case(sessions, outcome=None, rings=2)
    messages = cap_messages(await record_of(sessions, open_case), SENDER)
    assert [find(check_cap(m), "msgType") for m in messages] == ["Alert", "Update"]

    silent = await seed_case(sessions, outcome="false_alarm", rings=0)
    assert cap_messages(await record_of(sessions, silent), SENDER) == []


async def test_exports_are_stable_and_exercise_status_is_kept(sessions: Sessions) -> None:
    record = await record_of(sessions, await seed_case(sessions))
    again = await record_of(sessions, record.case_id)

    assert cap_messages(record, SENDER) == cap_messages(again, SENDER)
    assert pfif_document(record, DOMAIN) == pfif_document(again, DOMAIN)
    exercise = [check_cap(m) for m in cap_messages(record, SENDER, status="Exercise")]
    assert {find(a, "status") for a in exercise} == {"Exercise"}


def test_bad_sender_domain_or_status_is_refused() -> None:
    case = Case(
        id=1, reporter_user_id=1, reporter_chat_id=1, lat=0, lon=0, center_lat=0, center_lon=0,
        last_seen_at=T0, created_at=T0,
    )  # fmt: skip
    record = CaseRecord(case=case, rings=(), sightings=())
    for sender in ("police example", "a,b", "x<y", "a&b", ""):
        with pytest.raises(ValueError):
            cap_messages(record, sender)
    with pytest.raises(ValueError):
        cap_messages(record, SENDER, status="Real")
    for domain in ("", "a/b", "bad domain"):
        with pytest.raises(ValueError):
            pfif_document(record, domain)


async def test_pfif_person_and_notes(sessions: Sessions) -> None:
    case_id = await seed_case(sessions, outcome="found")
    record = await record_of(sessions, case_id)
    root = check_pfif(pfif_document(record, DOMAIN))

    person = root.find(f"{{{PFIF}}}person")
    assert person is not None
    person_id = f"{DOMAIN}/case.{case_id}"
    assert find(person, "person_record_id", PFIF) == person_id
    assert find(person, "full_name", PFIF) == f"Missing person #{case_id}"
    assert find(person, "source_date", PFIF) == "2026-05-01T06:00:00Z"
    assert find(person, "entry_date", PFIF) == "2026-05-01T06:00:00Z"
    assert (find(person, "sex", PFIF), find(person, "age", PFIF)) == ("female", "6")
    notes = person.findall(f"{{{PFIF}}}note")
    first, second = (s.id for s in record.sightings)
    assert [find(n, "note_record_id", PFIF) for n in notes] == [
        f"{DOMAIN}/case.{case_id}.report",
        f"{DOMAIN}/sighting.{first}",
        f"{DOMAIN}/sighting.{second}",
        f"{DOMAIN}/case.{case_id}.closing",
    ]
    assert {find(n, "person_record_id", PFIF) for n in notes} == {person_id}
    assert {find(n, "author_name", PFIF) for n in notes} == {"searchbot"}
    statuses = [n.findtext(f"{{{PFIF}}}status") for n in notes]
    assert statuses == ["information_sought", "believed_alive", None, "believed_alive"]
    locations = [n.findtext(f"{{{PFIF}}}last_known_location") for n in notes]
    assert locations == ["31.230400,121.473700", "31.240100,121.480100", "Metro line 2", None]
    assert [find(n, "source_date", PFIF) for n in notes] == [
        "2026-05-01T06:00:00Z",
        "2026-05-01T06:20:00Z",
        "2026-05-01T06:40:00Z",
        "2026-05-01T06:47:00Z",
    ]
    assert "not credible" in find(notes[2], "text", PFIF)


async def test_pfif_withdrawn_closing_has_no_status(sessions: Sessions) -> None:
    case_id = await seed_case(sessions, outcome="withdrawn")
    root = check_pfif(pfif_document(await record_of(sessions, case_id), DOMAIN))

    closing = root.findall(f"{{{PFIF}}}person/{{{PFIF}}}note")[-1]
    assert find(closing, "note_record_id", PFIF).endswith(".closing")
    assert closing.find(f"{{{PFIF}}}status") is None


async def test_no_phone_number_and_no_identity_in_any_export(sessions: Sessions) -> None:
    case_id = await seed_case(sessions, outcome="found")
    record = await record_of(sessions, case_id)
    documents = [
        *cap_messages(record, SENDER),
        *cap_messages(record, SENDER, show_name=True),
        pfif_document(record, DOMAIN),
        pfif_document(record, DOMAIN, show_name=True),
    ]

    assert len(documents) == 10
    for document in documents:
        squeezed = re.sub(r"[\s\-.()+/]", "", document)
        assert PHONE_DIGITS not in squeezed
        assert "0013" not in document  # no fragment of the number either
        for secret in (SIGHTER, "Bob Witness", "sergeant", "501", "777", "778"):
            assert secret not in document
    assert "[contact removed]" in documents[0]


async def test_name_goes_out_only_with_show_name(sessions: Sessions) -> None:
    record = await record_of(sessions, await seed_case(sessions))

    hidden = [*cap_messages(record, SENDER), pfif_document(record, DOMAIN)]
    assert not any(NAME in document for document in hidden)
    first = check_cap(cap_messages(record, SENDER, show_name=True)[0])
    assert NAME in find(first, "info/headline")
    assert NAME in find(first, "info/description")
    person = check_pfif(pfif_document(record, DOMAIN, show_name=True))
    assert find(person, "person/full_name", PFIF) == NAME


async def test_hostile_text_round_trips_through_a_parser(sessions: Sessions) -> None:
    record = await record_of(sessions, await seed_case(sessions))
    alert = check_cap(cap_messages(record, SENDER)[0])
    pfif = check_pfif(pfif_document(record, DOMAIN))

    description = find(alert, "info/description")
    assert HOSTILE in description
    assert "\x0b" not in description and "\x1b" not in description  # not XML characters
    assert PLACE in find(alert, "info/area/areaDesc")
    assert PLACE in find(alert, "info/headline")
    assert HOSTILE in find(pfif, "person/description", PFIF)
    sighting = pfif.findall(f"{{{PFIF}}}person/{{{PFIF}}}note")[1]
    assert HOSTILE in find(sighting, "text", PFIF)
    assert "<b>" not in cap_messages(record, SENDER)[0]  # escaped, not markup


def test_characters_xml_cannot_carry_are_dropped() -> None:
    assert xml_text("a\x00b\x08c\x1fd\ufffee\uffff") == "abcde"
    assert xml_text("one\r\ntwo\rthree\tfour\n") == "one\ntwo\nthree\tfour\n"
    assert xml_text("🧒🏽 שלום \u202e 中文 <&>") == "🧒🏽 שלום \u202e 中文 <&>"


def test_rings_from_audit_keeps_the_first_of_each_stage_and_clamps_the_radius() -> None:
    def entry(minutes: int, **detail: Any) -> AuditEntry:
        return _audit(T0 + timedelta(minutes=minutes), "stage", 1, **detail)

    rings = rings_from_audit(
        [entry(0, stage=0), entry(1, stage=0), entry(2), entry(3, stage="x"), entry(9, stage=7)],
        STAGES,
    )
    assert [(r.index, r.at, r.radius_m) for r in rings] == [
        (0, T0, 300),
        (7, T0 + timedelta(minutes=9), 5000),
    ]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.replace("<sender>police.example.org</sender>", ""),
        lambda d: d.replace("<status>Actual</status>", "<status>Real</status>"),
        lambda d: d.replace("-00:00</sent>", "Z</sent>"),
        lambda d: d.replace("<scope>Public</scope>", ""),
        lambda d: d.replace("<category>Rescue</category>", "<category>Missing</category>"),
        lambda d: re.sub(r"(<event>[^<]*</event>)(\s*)(<urgency>[^<]*</urgency>)", r"\3\2\1", d),
        lambda d: re.sub(r"<event>.*</event>", "", d),
        lambda d: re.sub(r"<circle>[^<]*</circle>", "<circle>31.2,121.4</circle>", d),
        lambda d: re.sub(r"<areaDesc>[^<]*</areaDesc>", "", d),
        lambda d: re.sub(r"<references>[^<]*</references>", "", d),
        lambda d: re.sub(r"(<references>[^<]*),", r"\1;", d),
        lambda d: d.replace("<identifier>searchbot-", "<identifier>search bot-"),
    ],
)
async def test_the_cap_checks_catch_broken_messages(
    sessions: Sessions, breakage: Callable[[str], str]
) -> None:
    record = await record_of(sessions, await seed_case(sessions))
    update = cap_messages(record, SENDER)[1]
    check_cap(update)
    broken = breakage(update)
    assert broken != update
    with pytest.raises(NotValid):
        check_cap(broken)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: re.sub(r"<pfif:full_name>[^<]*</pfif:full_name>", "", d),
        lambda d: d.replace("<pfif:sex>female", "<pfif:sex>f"),
        lambda d: d.replace("believed_alive", "found", 1),
        lambda d: d.replace("06:00:00Z</pfif:source_date>", "06:00:00+00:00</pfif:source_date>"),
        lambda d: re.sub(r"<pfif:author_name>[^<]*</pfif:author_name>", "", d, count=1),
        lambda d: d.replace(f"<pfif:person_record_id>{DOMAIN}/", "<pfif:person_record_id>"),
        lambda d: re.sub(
            r"(<pfif:source_date>[^<]*</pfif:source_date>)(\s*)(<pfif:full_name>[^<]*"
            r"</pfif:full_name>)",
            r"\3\2\1",
            d,
            count=1,
        ),
    ],
)
async def test_the_pfif_checks_catch_broken_documents(
    sessions: Sessions, breakage: Callable[[str], str]
) -> None:
    record = await record_of(sessions, await seed_case(sessions))
    document = pfif_document(record, DOMAIN)
    check_pfif(document)
    broken = breakage(document)
    assert broken != document
    with pytest.raises(NotValid):
        check_pfif(broken)
