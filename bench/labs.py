"""`!werbinich` and `!labore` round trips with 1,000 labs, next to the bare nio echo bot's `!ping`.

The set-up of `bench/ping.py` (same Synapse, same run, one measuring user, long-poll sync), but
Labnetz's SQLite database is seeded before the bot starts: 1,000 labs over the 16 Bundesländer,
each linked to a fake room id, and the benchmark's real lab room linked to one of them. Order:
the measuring user creates the rooms first (so the real room id is known), then the database is
seeded directly through the repositories, then Labnetz starts and is invited. Three batches per
round (whoami → Labnetz, labs → Labnetz, ping → echo), rotating who goes first.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime
from typing import Any

from nio import RoomMessage

from bench import Context, ratio, summary
from bench.roundtrip import (
    REPLY_TIMEOUT,
    SYNC_FILTER,
    Series,
    Stage,
    command_histogram,
    measure,
    round_trip_series,
)
from commands.geo import STATES, slugify
from storage import Database

NAME = "labs"
SAMPLES, QUICK_SAMPLES = 200, 40  # measured round trips per series
WARMUP = 10  # per series, not counted
BATCH = 10  # commands of one series before switching to the next
MAX_LOST = 5
TARGET_P50_RATIO = 1.15
MAX_BODY_BYTES = 60_000  # a Matrix event (the whole PDU) must stay under 64 KiB
MAX_EVENT_BYTES = 65_536  # Synapse's limit on the whole event (canonical JSON of the PDU)
LABS = 1_000
OTHER_GRANTS = 200  # coordinator/manager grants of other (fake) users
USER_COORDINATOR_GRANTS = 3  # extra coordinator grants of the measuring user
SEED = 20261127

SERIES = (
    Series("whoami", "labnetz", "!werbinich"),
    Series("labs", "labnetz", "!labore"),
    Series("echo", "echo", "!ping"),
)

# A few real cities per Bundesland: lab names look like real ones (and vary in length).
CITIES: dict[str, tuple[str, ...]] = {
    "BW": ("Stuttgart", "Karlsruhe", "Freiburg im Breisgau", "Heidelberg", "Ulm", "Tübingen", "Konstanz"),
    "BY": ("München", "Nürnberg", "Augsburg", "Regensburg", "Würzburg", "Ingolstadt", "Bamberg"),
    "BE": ("Berlin-Mitte", "Berlin-Neukölln", "Berlin-Pankow", "Berlin-Spandau", "Berlin-Lichtenberg"),
    "BB": ("Potsdam", "Cottbus", "Frankfurt (Oder)", "Brandenburg an der Havel", "Eberswalde"),
    "HB": ("Bremen", "Bremerhaven", "Bremen-Vegesack"),
    "HH": ("Hamburg-Altona", "Hamburg-Wilhelmsburg", "Hamburg-Eimsbüttel", "Hamburg-Harburg"),
    "HE": ("Frankfurt am Main", "Wiesbaden", "Kassel", "Darmstadt", "Offenbach am Main", "Marburg"),
    "MV": ("Rostock", "Schwerin", "Greifswald", "Neubrandenburg", "Stralsund", "Wismar"),
    "NI": ("Hannover", "Braunschweig", "Oldenburg", "Osnabrück", "Göttingen", "Lüneburg", "Wolfsburg"),
    "NW": ("Köln", "Düsseldorf", "Dortmund", "Essen", "Münster", "Bielefeld", "Mönchengladbach", "Aachen"),
    "RP": ("Mainz", "Ludwigshafen am Rhein", "Koblenz", "Trier", "Kaiserslautern", "Worms"),
    "SL": ("Saarbrücken", "Neunkirchen", "Homburg", "Völklingen", "Saarlouis"),
    "SN": ("Leipzig", "Dresden", "Chemnitz", "Zwickau", "Görlitz", "Plauen", "Bautzen"),
    "ST": ("Magdeburg", "Halle (Saale)", "Dessau-Roßlau", "Wittenberg", "Stendal"),
    "SH": ("Kiel", "Lübeck", "Flensburg", "Neumünster", "Norderstedt", "Husum"),
    "TH": ("Erfurt", "Jena", "Gera", "Weimar", "Gotha", "Nordhausen"),
}
LEGAL_FORMS = ("e. V.", "gGmbH", "Genossenschaft", "Stiftung", None)


def lab_names(count: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """`count` distinct (name, city, state code), spread evenly over the 16 Bundesländer."""
    codes = list(STATES)
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for index in range(count):
        code = codes[index % len(codes)]
        city = rng.choice(CITIES[code])
        number = index // len(codes) + 1
        style = index % 3
        if style == 0:
            name = f"OGL {city} {number}"
        elif style == 1:
            name = f"Offenes Gemeinwohl-Labor {city} {number}"
        else:
            name = f"Gemeinwohllabor {city}-{rng.choice(('Nord', 'Süd', 'Ost', 'West', 'Mitte'))} {number}"
        assert slugify(name) not in seen, name
        seen.add(slugify(name))
        out.append((name, city, code))
    return out


async def seed(url: str, lab_room: str, user_id: str) -> dict[str, Any]:
    """1,000 labs with fake rooms, the real lab room linked to one, and some grants."""
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    db = Database(url)
    t0 = time.perf_counter()
    try:
        await db.migrate()
        async with db.transaction() as store:
            lab_ids: list[int] = []
            names = lab_names(LABS, rng)
            for index, (name, city, code) in enumerate(names):
                legal_form = rng.choice(LEGAL_FORMS)
                lab = await store.labs.create(
                    slug=slugify(name),
                    name=name,
                    city=city,
                    state=code,
                    level="kommune" if index % 10 else "land",
                    host=f"Trägerverein {city}" if legal_form else None,
                    host_legal_form=legal_form,
                    timezone="Europe/Berlin",
                    created_by="@seed:localhost",
                    now=now,
                )
                lab_ids.append(lab.id)
                await store.labs.link(f"!bench-fake-{index:04d}:localhost", lab.id, "@seed:localhost", now)
            # The real room: linked to a lab in Sachsen (in addition to that lab's fake room).
            home = next(i for i, lab_id in enumerate(lab_ids) if list(STATES)[i % len(STATES)] == "SN")
            home_lab = lab_ids[home]
            await store.labs.link(lab_room, home_lab, "@seed:localhost", now)
            granted = 0
            for lab_id in rng.sample([i for i in lab_ids if i != home_lab], USER_COORDINATOR_GRANTS):
                granted += await store.grants.grant(user_id, "coordinator", lab_id, "@seed:localhost", now) is not None
            for index in range(OTHER_GRANTS):
                role = "manager" if index % 20 == 0 else "coordinator"
                lab = None if role == "manager" else rng.choice(lab_ids)
                granted += (
                    await store.grants.grant(f"@someone-{index}:localhost", role, lab, "@seed:localhost", now)
                    is not None
                )
            labs_count = await store.labs.count()
            links = len(await store.labs.all_links())
    finally:
        await db.close()
    return {
        "labs": labs_count,
        "linked_rooms": links,
        "grants": granted,
        "lab_of_the_real_room": home_lab,
        "lab_name_chars": summary([len(name) for name, _, _ in names], digits=1),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def reply_sizes(event: RoomMessage) -> dict[str, int]:
    content = event.source.get("content", {})
    return {
        "body_bytes": len(str(content.get("body", "")).encode()),
        "formatted_body_bytes": len(str(content.get("formatted_body", "")).encode()),
        "event_json_bytes": len(json.dumps(event.source, ensure_ascii=False).encode()),
    }


async def run(ctx: Context) -> dict[str, Any]:
    samples = QUICK_SAMPLES if ctx.quick else SAMPLES
    async with Stage(ctx, member=True) as stage:
        user_id = stage.user_id("user")
        measurer = await stage.connect()
        # The lab room gets a third member, so that it is a group room, not a direct chat.
        rooms = await stage.lab_and_echo_rooms()

        db_path = ctx.tmp / "labnetz" / "labnetz.db"
        database_url = f"sqlite+aiosqlite:///{db_path}"
        seeded = await seed(database_url, rooms["labnetz"], user_id)
        ctx.log(f"seeded {seeded['labs']} labs, {seeded['linked_rooms']} links in {seeded['seconds']} s")

        labnetz = await stage.start_bots(database_url)
        await stage.invite_labnetz(rooms["labnetz"])
        await stage.wait_joined(rooms)

        measured = await measure(ctx, measurer, rooms, SERIES, samples, WARMUP, BATCH, MAX_LOST)

        metrics_text = await asyncio.to_thread(labnetz.metrics)
        handler = {cmd: command_histogram(metrics_text, cmd) for cmd in ("whoami", "labs")}

        replies = {e.event_id: e for e in measurer.messages.get(rooms["labnetz"], [])}

        def reply_of(sample: dict[str, Any]) -> RoomMessage | None:
            return replies.get(measurer.reply_id.get(sample["event_id"], ""))

        labs_sizes = [reply_sizes(e) for r in measured.samples["labs"] if (e := reply_of(r)) is not None]
        max_sizes = {k: max((s[k] for s in labs_sizes), default=0) for k in
                     ("body_bytes", "formatted_body_bytes", "event_json_bytes")}
        last_labs = next((e for r in reversed(measured.samples["labs"]) if (e := reply_of(r)) is not None), None)
        last_whoami = next((e for r in reversed(measured.samples["whoami"]) if (e := reply_of(r)) is not None), None)
        labs_body = str(last_labs.source["content"].get("body", "")) if last_labs else ""
        whoami_body = str(last_whoami.source["content"].get("body", "")) if last_whoami else ""
        if str(LABS) not in labs_body.split("\n", 1)[0] or user_id not in whoami_body:
            raise RuntimeError(
                f"unexpected replies:\n--- labore ---\n{labs_body[:500]}\n--- werbinich ---\n{whoami_body}"
            )

        series = round_trip_series(measurer, measured)
        ratios = {
            "whoami_p50": ratio(series["whoami"]["p50"], series["echo"]["p50"]),
            "labs_p50": ratio(series["labs"]["p50"], series["echo"]["p50"]),
            "whoami_p95": ratio(series["whoami"]["p95"], series["echo"]["p95"]),
            "labs_p95": ratio(series["labs"]["p95"], series["echo"]["p95"]),
        }
        body_ok = 0 < max_sizes["body_bytes"] < MAX_BODY_BYTES
        passed = (
            all(ratios[k] is not None and ratios[k] <= TARGET_P50_RATIO for k in ("whoami_p50", "labs_p50"))
            and body_ok
        )
        return {
            "description": (
                f"`!werbinich` and `!labore` round trips (ms) with {LABS:,} labs in the database, "
                "next to the bare nio echo bot's `!ping`: same Synapse, same run, rotating batches."
            ),
            "inputs": {
                "samples_per_series": samples,
                "warmup_per_series": WARMUP,
                "batch": BATCH,
                "series": [{"name": s.name, "command": s.body, "bot": s.bot} for s in SERIES],
                "order": "batches per round: whoami, labs, echo; who goes first rotates per round",
                "commands": "strictly sequential: send, await reply, next; no pause",
                "reply_timeout_seconds": REPLY_TIMEOUT,
                "measuring_sync_filter": SYNC_FILTER,
                "seeding": (
                    "rooms created first by the measuring user; then the SQLite file seeded through "
                    "storage (Database.migrate, LabRepo.create/link, GrantRepo.grant); then Labnetz "
                    "started and invited"
                ),
                "database": seeded,
                "labs_per_state": -(-LABS // len(STATES)),
                "lab_room": (
                    "plain (unencrypted) room with three members: the measuring user (creator, "
                    "power 100, so coordinator of the linked lab), a second user, Labnetz"
                ),
                "measuring_user_grants": f"coordinator of {USER_COORDINATOR_GRANTS} further labs",
                "labnetz": {
                    "encryption": labnetz.encryption,
                    "database": "SQLite file (aiosqlite, WAL)",
                    "process": "python -m bot.cli run --config (bot/devbot.py BotProcess)",
                },
                "echo": {
                    "encryption": False,
                    "room": "plain (unencrypted), measuring user + echo bot",
                    "process": "python -m bench.echo_bot (bare nio AsyncClient, no database)",
                },
                "synapse": "bot.devserver.LocalSynapse, SQLite, relaxed rate limits",
            },
            "unit": "ms",
            "series": series,
            "ratios": ratios,
            "target": {
                "metric": "ratios.whoami_p50, ratios.labs_p50, extra.labs_reply.max_body_bytes",
                "max": TARGET_P50_RATIO,
                "max_body_bytes": MAX_BODY_BYTES,
                "text": (
                    f"whoami p50 / echo p50 ≤ {TARGET_P50_RATIO} and labs p50 / echo p50 ≤ "
                    f"{TARGET_P50_RATIO}; `!labore` body < {MAX_BODY_BYTES:,} bytes"
                ),
            },
            "passed": passed,
            "extra": {
                "labs_reply": {
                    "max_body_bytes": max_sizes["body_bytes"],
                    "max_formatted_body_bytes": max_sizes["formatted_body_bytes"],
                    "max_event_json_bytes": max_sizes["event_json_bytes"],
                    "event_headroom_bytes": MAX_EVENT_BYTES - max_sizes["event_json_bytes"],
                    "body_under_limit": body_ok,
                    "body_limit_bytes": MAX_BODY_BYTES,
                    "first_line": labs_body.split("\n", 1)[0],
                    "lines": labs_body.count("\n") + 1,
                },
                "whoami_reply": whoami_body,
                "labnetz_command_seconds": handler,
                "handler_count_includes_warmup": True,
                **measured.extra(measurer),
            },
            "notes": [
                "The echo floor is `!ping` → pong from a bot with no database; whoami and labs "
                "read the 1,000-lab database, so the ratios include their real work.",
                f"`!labore` reply: body {max_sizes['body_bytes']:,} B, formatted_body "
                f"{max_sizes['formatted_body_bytes']:,} B, whole event as synced "
                f"{max_sizes['event_json_bytes']:,} B of {MAX_EVENT_BYTES:,} (the 64 KiB limit is on "
                "the whole event, body and formatted_body together; the PDU Synapse checks also "
                "carries signatures, hashes and auth/prev events).",
                "Labnetz handler time (labnetz_command_seconds, incl. warm-up): "
                + ", ".join(
                    f"{cmd} mean {h.get('mean_ms')} ms over {h.get('count')}" for cmd, h in handler.items()
                ),
                "Absolute times on a shared 2-core machine are noisy; the ratios are what to "
                "compare between runs.",
            ],
        }
