"""What an announcement writes: its copies, their edits and redactions, and the progress message.

Shared by the `announce` commands, the scheduled firing (due work) and the bot's progress watcher.
Everything here only queues outbox rows in the caller's transaction.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from commands.i18n import N_, Translator
from storage import Store
from storage.announce import copy_reference
from storage.models import OutboxRow, Room
from storage.models_announce import Announcement, AnnouncementCopy

HEADER = N_("Announcement from the federal team ({name})")
PROGRESS = N_("Announcement #{id}: {sent}/{total} delivered, {failed} failed")
PROGRESS_DONE = N_("Announcement #{id}: {sent}/{total} delivered, {failed} failed. Done.")
PROGRESS_RETRACTED = N_("Announcement #{id} was retracted: {sent} copies delivered, {failed} not.")

COPY = "announcement"  # outbox purposes; the sender sends these after everything else
EDIT = "announcement-edit"
RETRACT = "announcement-retract"
PROGRESS_PURPOSE = "announcement-progress"
BULK_PURPOSES = frozenset({COPY, EDIT, RETRACT})

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
_CODE = re.compile(r"`([^`]+?)`")
_BULLET = re.compile(r"^\s*[-*•] ")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _LINK.sub(lambda m: f'<a href="{html.escape(m.group(2), quote=True)}">{m.group(1)}</a>', out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _ITALIC.sub(r"<em>\1</em>", out)


def markdown_html(text: str) -> str:
    """The Markdown people type in chat: paragraphs, line breaks, `- ` lists, **bold**, *italic*,
    `code` and [links](https://…). Everything else is escaped, never passed through as HTML."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line.rstrip() for line in block.split("\n")]
        if all(_BULLET.match(line) for line in lines):
            items = "".join(f"<li>{_inline(_BULLET.sub('', line))}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        else:
            out.append("<p>" + "<br>".join(_inline(line) for line in lines) + "</p>")
    return "".join(out)


def copy_content(tr: Translator, author: str, text: str) -> dict[str, Any]:
    header = tr.gettext(HEADER).format(name=author)
    return {
        "msgtype": "m.text",
        "body": f"{header}\n\n{text}",
        "format": "org.matrix.custom.html",
        "formatted_body": f"<p><strong>{html.escape(header, quote=False)}</strong></p>{markdown_html(text)}",
        "m.mentions": {},
    }


def edit_content(new: dict[str, Any], event_id: str) -> dict[str, Any]:
    """An `m.replace` of `event_id`: clients show `m.new_content`, old ones the "* " fallback."""
    return {
        "msgtype": new["msgtype"],
        "body": "* " + new["body"],
        "format": new["format"],
        "formatted_body": new["formatted_body"],
        "m.new_content": new,
        "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        "m.mentions": {},
    }


def author_label(announcement: Announcement) -> str:
    return announcement.author_name or announcement.author or "–"


async def room_languages(store: Store, room_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(room_ids), 500):
        chunk = room_ids[start:start + 500]
        rows = await store.session.execute(
            select(Room.room_id, Room.language).where(Room.room_id.in_(chunk), Room.language.is_not(None))
        )
        found.update(dict(rows.tuples().all()))
    return found


def progress_text(tr: Translator, announcement: Announcement, counts: dict[str, int]) -> str:
    total = announcement.target_count
    if announcement.state == "retracted":
        template = PROGRESS_RETRACTED
    elif counts["pending"] == 0:
        template = PROGRESS_DONE
    else:
        template = PROGRESS
    return tr.gettext(template).format(
        id=announcement.id, sent=counts["sent"], total=total, failed=counts["failed"]
    )


async def start_broadcast(
    store: Store,
    announcement: Announcement,
    targets: list[tuple[str, int, str, str]],
    *,
    now: datetime,
    translator_for: Callable[[str], Translator],
    default_language: str,
    progress_after: timedelta = timedelta(0),
) -> None:
    """The progress message first, then one outbox row and one copy per target room.
    `progress_after` lets the command's own reply (id and count) go out before it."""
    tr = translator_for(announcement.language)
    announcement.state = "sending"
    announcement.started_at = now
    announcement.target_count = len(targets)
    counts = {"pending": len(targets), "sent": 0, "failed": 0}
    announcement.progress_text = progress_text(tr, announcement, counts)
    progress = await store.outbox.add(
        announcement.room_id,
        {"msgtype": "m.notice", "body": announcement.progress_text, "m.mentions": {}},
        now=now,
        purpose=PROGRESS_PURPOSE,
        reference=f"announcement-progress:{announcement.id}",
        not_before=now + progress_after,
    )
    announcement.progress_row = progress.id
    languages = await room_languages(store, [room for room, *_ in targets])
    contents: dict[str, dict[str, Any]] = {}
    messages = []
    for room_id, _lab_id, _name, _state in targets:
        language = languages.get(room_id, default_language)
        if language not in contents:
            contents[language] = copy_content(translator_for(language), author_label(announcement), announcement.text)
        messages.append((room_id, contents[language]))
    rows = await store.outbox.add_many(messages, now=now, purpose=COPY, reference=copy_reference(announcement.id))
    await store.announcements.add_copies(announcement.id, [
        {"room_id": room_id, "lab_id": lab_id, "outbox_id": row.id, "revision": announcement.revision}
        for (room_id, lab_id, _name, _state), row in zip(targets, rows, strict=True)
    ])
    await store.session.flush()


async def reconcile(
    store: Store,
    announcement: Announcement,
    *,
    now: datetime,
    translator_for: Callable[[str], Translator],
    default_language: str,
) -> int:
    """Copies already sent catch up with the announcement: an edit when their text is older, a
    redaction when it was retracted. Copies still pending are handled once they are sent. Returns
    the number of rows queued."""
    retracted = announcement.state == "retracted"
    if not retracted and announcement.revision == 1:
        return 0
    stmt = (
        select(AnnouncementCopy, OutboxRow.event_id)
        .join(OutboxRow, OutboxRow.id == AnnouncementCopy.outbox_id)
        .where(AnnouncementCopy.announcement_id == announcement.id, OutboxRow.state == "sent")
    )
    stmt = stmt.where(AnnouncementCopy.redacted.is_(False)) if retracted else stmt.where(
        AnnouncementCopy.revision < announcement.revision
    )
    found = list((await store.session.execute(stmt)).tuples().all())
    if not found:
        return 0
    languages = await room_languages(store, [copy.room_id for copy, _ in found])
    contents: dict[str, dict[str, Any]] = {}
    for copy, event_id in found:
        copy.event_id = copy.event_id or event_id
        if retracted:
            await store.outbox.add(
                copy.room_id, {"redacts": event_id}, now=now, event_type="m.room.redaction",
                purpose=RETRACT, reference=f"announcement-retract:{announcement.id}",
            )
            copy.redacted = True
            continue
        language = languages.get(copy.room_id, default_language)
        if language not in contents:
            contents[language] = copy_content(translator_for(language), author_label(announcement), announcement.text)
        await store.outbox.add(
            copy.room_id, edit_content(contents[language], event_id), now=now, purpose=EDIT,
            reference=f"announcement-edit:{announcement.id}",
        )
        copy.revision = announcement.revision
    await store.session.flush()
    return len(found)


async def refresh(
    store: Store,
    announcement_id: int,
    *,
    now: datetime,
    translator_for: Callable[[str], Translator],
    default_language: str,
) -> bool:
    """One look at a broadcast in progress: late copies reconciled, the progress message edited
    when its text changed, the announcement marked done. True when nothing is left to watch."""
    announcement = await store.announcements.get(announcement_id)
    if announcement is None or announcement.state == "scheduled":
        return True
    await reconcile(store, announcement, now=now, translator_for=translator_for, default_language=default_language)
    counts = await store.announcements.delivery_counts(announcement_id)
    finished = counts["pending"] == 0
    if finished and announcement.state == "sending":
        announcement.state = "done"
        announcement.finished_at = now
    text = progress_text(translator_for(announcement.language), announcement, counts)
    if text != announcement.progress_text and announcement.progress_row is not None:
        progress = await store.outbox.get(announcement.progress_row)
        if progress is None or progress.event_id is None:
            return False  # not sent yet: edit it on a later look
        new = {"msgtype": "m.notice", "body": text, "m.mentions": {}}
        await store.outbox.add(
            announcement.room_id, edit_content({**new, "format": "org.matrix.custom.html",
                                                "formatted_body": html.escape(text, quote=False)},
                                               progress.event_id),
            now=now, purpose=PROGRESS_PURPOSE, reference=f"announcement-progress:{announcement.id}",
        )
        announcement.progress_text = text
    if finished:
        await _copy_event_ids(store, announcement_id)
    return finished


async def _copy_event_ids(store: Store, announcement_id: int) -> None:
    """Reactions are matched on the copies' event ids: copy them over from the outbox, once."""
    event_id = (
        select(OutboxRow.event_id).where(OutboxRow.id == AnnouncementCopy.outbox_id).scalar_subquery()
    )
    await store.session.execute(
        update(AnnouncementCopy)
        .where(AnnouncementCopy.announcement_id == announcement_id, AnnouncementCopy.event_id.is_(None))
        .values(event_id=event_id)
        .execution_options(synchronize_session=False)
    )


def schedule_limit(now: datetime) -> datetime:
    return now + timedelta(days=366)
