"""Demo data for `make demo`: three labs in three Bundesländer with bookable spaces, their
rooms linked, and a grant.

Written straight into the bot's database before it starts (idempotent: a second run finds
everything in place). Everything else in the demo happens through Matrix, as for real users.
"""

from __future__ import annotations

from datetime import UTC, datetime

from commands.availability import DEFAULT_HOURS
from commands.geo import slugify
from storage import Database

BOT = "labnetz"
ADMIN = "demo-admin"
# localpart -> display name; the bot's display name comes from its config.
DEMO_USERS = {
    ADMIN: "Demo Admin",
    "anna": "Anna Schmidt",
    "ben": "Ben Yilmaz",
    "clara": "Clara Weber",
}
# alias localpart -> (room name, encrypted)
ROOMS = {
    "bundesteam": ("Bundesteam", False),
    "ogl-leipzig": ("OGL Leipzig", False),
    "ogl-koeln": ("OGL Köln", False),
    # One encrypted lab room shows that the bot handles E2EE.
    "ogl-kiel": ("OGL Kiel", True),
}
# room alias localpart -> (lab name, city, Bundesland, level, host, legal form)
DEMO_LABS = {
    "ogl-leipzig": ("OGL Leipzig", "Leipzig", "SN", "kommune", "Stadt Leipzig", "Eigenbetrieb"),
    "ogl-koeln": ("OGL Köln", "Köln", "NW", "kommune", "Digitalwerkstatt Köln", "e. V."),
    "ogl-kiel": ("OGL Kiel", "Kiel", "SH", "land", "Offene Daten Kiel", "Genossenschaft"),
}

# Every demo lab gets an open desk area and a meeting room to book.
DEMO_SPACES = (("Coworking", "workspace", 12), ("Besprechungsraum", "meeting", 8))


async def seed_labs(database_url: str, rooms: dict[str, str], admin: str, coordinator: str) -> int:
    """Create the demo labs and links that are missing; returns how many things were added.

    `rooms` maps full aliases (`#ogl-leipzig:localhost`) to room ids.
    """
    db = Database(database_url)
    added = 0
    try:
        await db.migrate()
        now = datetime.now(UTC)
        async with db.transaction() as store:
            for alias, room_id in rooms.items():
                slug = alias[1:].split(":", 1)[0]
                if slug not in DEMO_LABS:
                    continue
                name, city, state, level, host, form = DEMO_LABS[slug]
                lab = await store.labs.by_slug(slug)
                if lab is None:
                    lab = await store.labs.create(
                        slug=slug, name=name, city=city, state=state, level=level, host=host,
                        host_legal_form=form, timezone="Europe/Berlin", created_by=admin, now=now,
                    )
                    added += 1
                for space_name, kind, capacity in DEMO_SPACES:
                    if await store.spaces.by_slug(lab.id, slugify(space_name)) is None:
                        await store.spaces.create(
                            lab_id=lab.id, name=space_name, slug=slugify(space_name), kind=kind,
                            capacity=capacity, hours=dict(DEFAULT_HOURS), now=now,
                        )
                        added += 1
                if await store.labs.lab_of_room(room_id) is None:
                    await store.labs.link(room_id, lab.id, admin, now)
                    added += 1
                if slug == "ogl-leipzig" and await store.grants.grant(
                    coordinator, "coordinator", lab.id, admin, now
                ):
                    added += 1
            if added:
                await store.audit.record(
                    at=now, actor=admin, action="demo seed", outcome="ok", detail={"added": added}
                )
    finally:
        await db.close()
    return added
