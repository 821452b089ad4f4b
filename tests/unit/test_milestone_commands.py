"""Milestone commands in German through the dispatcher, on a fixed clock (Fri 27.11.2026, 10:00 Berlin).

Each test checks the reply and what the database holds: the milestone rows and their notices
(due items with subject "milestone:<id>"), which every change must keep in step.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from commands.context import FixedClock
from storage import Database
from storage.models_due import DueItem, DueState
from storage.models_milestones import Milestone
from tests.unit.commandkit import ADMIN, FEDERAL, Chat

LEIPZIG = "!leipzig:example.org"
KOELN = "!koeln:example.org"
ELSEWHERE = "!elsewhere:example.org"
COORD = "@lea:example.org"  # power 50 in LEIPZIG: coordinator of OGL Leipzig
KOELN_COORD = "@kim:example.org"
BOB = "@bob:example.org"  # member


@pytest.fixture
async def chat(db: Database, clock: FixedClock) -> Chat:
    chat = Chat(db, clock)
    for room in (LEIPZIG, KOELN, FEDERAL):
        chat.state.join(room, ADMIN)
    chat.state.join(LEIPZIG, COORD, 50)
    chat.state.join(LEIPZIG, BOB)
    chat.state.join(KOELN, KOELN_COORD, 50)
    chat.state.join(ELSEWHERE, BOB)
    await ok(chat, '!labor anlegen "OGL Leipzig" --stadt Leipzig --land SN', sender=ADMIN)
    await ok(chat, "!labor verknuepfen ogl-leipzig", sender=ADMIN)
    await ok(chat, '!labor anlegen "OGL Köln" --stadt Köln --land NW', sender=ADMIN, room=KOELN)
    await ok(chat, "!labor verknuepfen ogl-koeln", sender=ADMIN, room=KOELN)
    return chat


async def say(chat: Chat, text: str, *, sender: str = COORD, room: str = LEIPZIG) -> tuple[str, str]:
    outcome = await chat.send(text, sender=sender, room=room)
    return outcome.result, (await chat.reply_of(outcome))["body"]


async def ok(chat: Chat, text: str, *, sender: str = COORD, room: str = LEIPZIG) -> str:
    result, body = await say(chat, text, sender=sender, room=room)
    assert result == "ok", (text, result, body)
    return body


async def milestones(db: Database) -> list[Milestone]:
    async with db.transaction() as store:
        return list((await store.session.scalars(select(Milestone).order_by(Milestone.id))).all())


async def notices(db: Database, milestone_id: int, state: str = DueState.PENDING) -> list[DueItem]:
    async with db.transaction() as store:
        rows = await store.session.scalars(
            select(DueItem).where(DueItem.subject == f"milestone:{milestone_id}", DueItem.state == state)
            .order_by(DueItem.due_at)
        )
        return list(rows.all())


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_coordinator_adds_a_milestone_in_german_and_its_notices_are_planned(chat: Chat, db: Database) -> None:
    body = await ok(chat, "!meilenstein anlegen „Konzept“ --faellig 15.01.2027")
    assert "Meilenstein #1 für OGL Leipzig angelegt: Konzept, fällig am 15.01.2027." in body
    assert "Verantwortlich: @lea:example.org" in body
    assert "Hinweise um 09:00 Uhr: 30d, 7d, 1d vorher" in body
    [milestone] = await milestones(db)
    assert (milestone.title, milestone.due_on, milestone.owner, milestone.status) == (
        "Konzept", date(2027, 1, 15), COORD, "open")
    items = await notices(db, milestone.id)
    assert [i.due_at for i in items] == [utc(2026, 12, 16, 8), utc(2027, 1, 8, 8), utc(2027, 1, 14, 8),
                                         utc(2027, 1, 15, 8)]  # 09:00 CET
    assert {i.kind for i in items} == {"milestone_notice"}
    assert [i.payload.get("offset") for i in items] == [30, 7, 1, None]


async def test_owner_and_offsets_can_be_given(chat: Chat, db: Database) -> None:
    body = await ok(chat, "!meilenstein anlegen Förderantrag --faellig 1.3.2027 --verantwortlich @bob:example.org "
                          "--erinnern 2w,1d")
    assert "Verantwortlich: @bob:example.org" in body and "14d, 1d vorher" in body
    [milestone] = await milestones(db)
    assert milestone.owner == BOB and milestone.remind_days == [14, 1]
    assert len(await notices(db, milestone.id)) == 3


async def test_without_offsets_only_the_due_day_and_overdue_notices_remain(chat: Chat, db: Database) -> None:
    body = await ok(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027 --erinnern keine")
    assert "Hinweise um 09:00 Uhr: am Fälligkeitstag und danach täglich" in body
    assert [i.payload["stage"] for i in await notices(db, 1)] == ["due"]


async def test_a_member_may_not_add_a_milestone_and_nothing_is_stored(chat: Chat, db: Database) -> None:
    result, body = await say(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027", sender=BOB)
    assert result == "refused" and "Rolle" in body, body
    assert await milestones(db) == []


async def test_a_coordinator_may_not_add_to_another_lab(chat: Chat, db: Database) -> None:
    result, _ = await say(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027 --labor ogl-koeln")
    assert result == "refused"
    assert await milestones(db) == []


async def test_network_milestones_need_a_manager(chat: Chat, db: Database) -> None:
    result, _ = await say(chat, "!meilenstein anlegen Förderaufruf --faellig 1.6.2027 --netzwerk")
    assert result == "refused"
    body = await ok(chat, "!meilenstein anlegen Förderaufruf --faellig 1.6.2027", sender=ADMIN, room=FEDERAL)
    assert "für das Netzwerk angelegt" in body
    [milestone] = await milestones(db)
    assert milestone.lab_id is None


async def test_bad_input_gets_usage_and_changes_nothing(chat: Chat, db: Database) -> None:
    for text in ("!meilenstein anlegen Konzept", "!meilenstein anlegen Konzept --faellig 31.02.2027",
                 "!meilenstein anlegen Konzept --faellig 1.2.2027 --erinnern bald",
                 "!meilenstein anlegen Konzept --faellig 1.2.2027 --verantwortlich bob",
                 "!meilenstein anlegen Konzept --faellig 1.2.2207"):
        result, body = await say(chat, text)
        assert result == "bad_arguments" and "meilenstein anlegen <Titel>" in body, (text, body)
    assert await milestones(db) == []


async def test_template_creates_the_programme_in_calendar_months(chat: Chat, db: Database) -> None:
    body = await ok(chat, "!meilenstein vorlage --beginn 31.08.2027")
    assert "Das 5-Jahres-Programm von OGL Leipzig ab 31.08.2027:" in body
    found = await milestones(db)
    assert [(m.due_on, m.title) for m in found] == [
        (date(2028, 2, 29), "Konzept (Blaupause) und lokale Akteure identifiziert"),
        (date(2028, 8, 31), "Legitimation (Ratifizierung)"),
        (date(2030, 2, 28), "Zwischenevaluation"),
        (date(2032, 2, 29), "Abschlussevaluation und Antrag für die nächste 5-Jahres-Runde"),
        (date(2032, 8, 31), "Ende der 5-jährigen Laufzeit"),
    ]
    assert all(m.lab_id is not None and m.template_step for m in found)
    assert len(await notices(db, found[0].id)) == 4
    result, body = await say(chat, "!meilenstein vorlage --beginn 31.08.2027")
    assert result == "refused" and "bereits" in body
    assert len(await milestones(db)) == 5


async def test_template_with_a_past_start_says_which_are_past(chat: Chat, db: Database) -> None:
    body = await ok(chat, "!meilenstein vorlage --beginn 1.1.2025")
    assert "2 davon liegen bereits in der Vergangenheit" in body
    found = await milestones(db)
    overdue = await notices(db, found[0].id)
    assert [(i.payload["stage"], i.due_at) for i in overdue] == [("overdue", utc(2026, 11, 28, 8))]


async def test_done_cancels_every_notice(chat: Chat, db: Database) -> None:
    await ok(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027")
    body = await ok(chat, "!meilenstein erledigt #1")
    assert "Meilenstein #1 Konzept ist erledigt." in body
    assert await notices(db, 1) == []
    assert len(await notices(db, 1, DueState.CANCELLED)) == 4
    result, body = await say(chat, "!meilenstein erledigt 1")
    assert result == "refused" and "bereits erledigt" in body


async def test_move_reschedules_the_notices(chat: Chat, db: Database) -> None:
    await ok(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027 --erinnern 7d")
    body = await ok(chat, "!meilenstein verschieben 1 --faellig 1.7.2027")
    assert "vom 15.01.2027 auf den 01.07.2027 verschoben" in body
    assert [i.due_at for i in await notices(db, 1)] == [utc(2027, 6, 24, 7), utc(2027, 7, 1, 7)]  # CEST
    assert (await milestones(db))[0].due_on == date(2027, 7, 1)


async def test_remove_deletes_the_milestone_and_its_notices(chat: Chat, db: Database) -> None:
    await ok(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027")
    assert "mit seinen Hinweisen entfernt" in await ok(chat, "!meilenstein entfernen 1")
    assert await milestones(db) == [] and await notices(db, 1) == []


async def test_changes_need_the_milestones_lab(chat: Chat, db: Database) -> None:
    await ok(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027")
    for text in ("!meilenstein erledigt 1", "!meilenstein verschieben 1 --faellig 1.2.2027", "!meilenstein entfernen 1"):
        result, _ = await say(chat, text, sender=KOELN_COORD, room=KOELN)
        assert result == "refused", text
    result, body = await say(chat, "!meilenstein erledigt 99")
    assert result == "refused" and "Es gibt keinen Meilenstein #99." in body
    assert len(await notices(db, 1)) == 4


async def test_listing_shows_status_and_due_dates(chat: Chat, db: Database, clock: FixedClock) -> None:
    await ok(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027")
    await ok(chat, "!meilenstein anlegen Satzung --faellig 1.11.2026")
    await ok(chat, "!meilenstein anlegen Heute --faellig 27.11.2026")
    await ok(chat, "!meilenstein erledigt 3")
    body = await ok(chat, "!meilensteine", sender=BOB)
    assert body.splitlines()[0] == "Meilensteine von OGL Leipzig"
    assert "#2 01.11.2026 Satzung: seit 26 Tagen überfällig (verantwortlich: @lea:example.org)" in body
    assert "#3 27.11.2026 Heute: erledigt am 27.11.2026" in body
    assert "#1 15.01.2027 Konzept: offen, fällig in 49 Tagen" in body
    assert "Noch keine Meilensteine für das Netzwerk" in await ok(chat, "!meilensteine --netzwerk", sender=BOB)


async def test_overdue_listing_spans_all_labs(chat: Chat, db: Database) -> None:
    await ok(chat, "!meilenstein anlegen Satzung --faellig 1.11.2026")
    await ok(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027")
    await ok(chat, "!meilenstein anlegen Beschluss --faellig 20.11.2026", sender=KOELN_COORD, room=KOELN)
    body = await ok(chat, "!meilensteine --ueberfaellig", sender=BOB, room=ELSEWHERE)
    assert "OGL Leipzig: #1 01.11.2026 Satzung" in body and "OGL Köln: #3 20.11.2026 Beschluss" in body
    assert "Konzept" not in body
    only = await ok(chat, "!meilensteine --ueberfaellig --labor ogl-koeln", sender=BOB, room=ELSEWHERE)
    assert "Beschluss" in only and "Satzung" not in only


async def test_english_replies(db: Database, clock: FixedClock) -> None:
    chat = Chat(db, clock, language="en")
    chat.state.join(FEDERAL, ADMIN)
    body = await ok(chat, '!milestone add "Funding call" --due 2027-06-01 --network', sender=ADMIN, room=FEDERAL)
    assert "Milestone #1 added to the network: Funding call, due 01.06.2027." in body
    assert "#1 01.06.2027 Funding call: open, due in 186 days" in await ok(
        chat, "!milestones --network", sender=ADMIN, room=FEDERAL)


async def test_digest_on_and_off(chat: Chat, db: Database) -> None:
    body = await ok(chat, "!wochenbericht an")
    assert "Der Wochenbericht ist eingeschaltet: montags um 09:00 Uhr, der nächste am 30.11.2026." in body
    await ok(chat, "!wochenbericht an")  # twice is still one digest
    async with db.transaction() as store:
        [item] = await store.due.pending(kind="digest")
    assert (item.room_id, item.recurrence, item.due_at) == (LEIPZIG, "0 9 * * 1", utc(2026, 11, 30, 8))
    assert "ausgeschaltet" in await ok(chat, "!wochenbericht aus")
    async with db.transaction() as store:
        assert await store.due.pending(kind="digest") == []
    result, _ = await say(chat, "!wochenbericht an", sender=BOB)
    assert result == "refused"
    result, body = await say(chat, "!wochenbericht an", sender=ADMIN, room=ELSEWHERE)
    assert result == "bad_arguments" and "verknüpft" in body


async def test_digest_can_be_turned_off_after_the_room_was_unlinked(chat: Chat, db: Database) -> None:
    await ok(chat, "!wochenbericht an")
    await ok(chat, "!labor trennen", sender=ADMIN)
    result, _ = await say(chat, "!wochenbericht aus", sender=BOB)
    assert result == "refused"
    assert "ausgeschaltet" in await ok(chat, "!wochenbericht aus")  # a moderator of the room
    async with db.transaction() as store:
        assert await store.due.pending(kind="digest") == []


async def test_lab_info_names_the_next_open_milestone(chat: Chat) -> None:
    assert "Nächster Meilenstein: –" in await ok(chat, "!labor info")
    await ok(chat, "!meilenstein anlegen Konzept --faellig 15.01.2027")
    await ok(chat, "!meilenstein anlegen Satzung --faellig 1.11.2026")
    info = await ok(chat, "!labor info")
    assert "Nächster Meilenstein: #2 01.11.2026 Satzung (seit 26 Tagen überfällig)" in info

