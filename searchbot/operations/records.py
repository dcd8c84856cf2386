"""The officers' records of their work: /stats (the last 30 days' figures and chart) and
/export (a case as CAP 1.2 messages, a PFIF 1.4 file and the after-action report)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from searchbot.cases.desk import as_officer
from searchbot.cases.services import Services
from searchbot.domain.actors import Actor
from searchbot.domain.messages import Answer, Out
from searchbot.models import Case, CaseOutcome, CaseStatus, GroupRole, GroupStatus
from searchbot.operations import after_action, drawing, exports, statistics
from searchbot.operations.pfif import pfif_document
from searchbot.settings import Settings
from searchbot.words.texts import ref, say

STATS_DAYS = 30
CHART_LABELS = ("outcomes_title", "found_title", "cases", "minutes", "no_data")


async def stats(services: Services, actor: Actor) -> Answer:
    """/stats: the last 30 days' figures, and the chart."""
    lang = actor.language

    async def work(session: AsyncSession) -> Answer:
        since = services.now() - timedelta(days=STATS_DAYS)
        stations = await services.officers.stations_for(session, actor)  # its own station's
        figures = await statistics.compute(session, since, stations)
        labels = {key: say(lang, f"chart_{key}") for key in CHART_LABELS}
        labels |= {o: say(lang, f"outcome_{o}") for o in CaseOutcome}
        chart = await drawing.drawn(statistics.chart_png, figures, labels, language=lang)
        text = say(lang, "stats", days=STATS_DAYS, **_stats_values(figures))
        return Answer().say(text).add(Out(upload=chart, upload_name="stats.png"))

    return await as_officer(services, actor, work)


def _stats_values(figures: statistics.Figures) -> dict[str, str]:
    def minutes(value: float | None) -> str:
        return "–" if value is None else f"{value:.0f}"

    def percent(value: float | None) -> str:
        return "–" if value is None else f"{value:.0%}"

    by, roles = figures.cases_by_outcome, figures.approved_groups_by_role
    return {
        "open": str(by[CaseStatus.OPEN]), "found": str(by[CaseOutcome.FOUND]),
        "false_alarm": str(by[CaseOutcome.FALSE_ALARM]), "withdrawn": str(by[CaseOutcome.WITHDRAWN]),
        "median": minutes(figures.found_median_minutes), "p90": minutes(figures.found_p90_minutes),
        "fast": percent(figures.found_within_30_share),
        "sightings": "–" if figures.sightings_per_case is None else f"{figures.sightings_per_case:.1f}",
        "merchant": str(roles[GroupRole.MERCHANT]), "guard": str(roles[GroupRole.GUARD]),
        "volunteer": str(roles[GroupRole.VOLUNTEER]), "pending": str(figures.groups_by_status[GroupStatus.PENDING]),
        "answered": str(figures.groups_answered), "alerted": str(figures.groups_alerted),
    }  # fmt: skip


async def export(services: Services, actor: Actor, case_id: int) -> Answer:
    """/export N: the case as CAP 1.2 messages and a PFIF 1.4 file, sent as documents."""
    lang = actor.language

    async def work(session: AsyncSession) -> Answer:
        case = await session.get(Case, case_id)
        if case is not None and not await services.officers.may_follow(session, actor, case):
            return Answer().say(say(lang, "not_your_station", ref=ref(case_id)))
        record = await exports.load_case_record(session, case_id, services.settings.escalation)
        if record is None:
            return Answer().say(say(lang, "no_such_case", ref=ref(case_id)))
        documents = case_documents(services.settings, record)
        if not documents:
            return Answer().say(say(lang, "export_nothing", ref=ref(case_id)))
        page = await after_action.export_text(session, case_id, services.settings)
        if page:
            documents.append((f"case-{case_id}-after-action.txt", page))
        answer = Answer()
        for name, document in documents:
            caption = say(lang, "export_caption", ref=ref(case_id), what=name)
            answer.add(Out(text=caption, upload=document.encode(), upload_name=name))
        return answer

    return await as_officer(services, actor, work)


def case_documents(settings: Settings, record: exports.CaseRecord) -> list[tuple[str, str]]:
    """(file name, XML) of every export of a case: its CAP messages, then its PFIF file."""
    case_id = record.case.id
    show = settings.alert_show_name
    caps = exports.cap_messages(record, settings.records_domain, show_name=show)
    if not caps:
        return []
    files = [(f"case-{case_id}-cap-{n}.xml", doc) for n, doc in enumerate(caps, start=1)]
    pfif = pfif_document(record, settings.records_domain, show_name=show)
    return [*files, (f"case-{case_id}-pfif.xml", pfif)]
