"""The banner `make demo` prints once everything runs: who can log in, which rooms exist, and
what to type first (in German and English)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from bot.demoseed import ADMIN, BOT, DEMO_USERS, ROOMS
from bot.devserver import LocalSynapse


def _labnetz_command() -> str:
    script = Path(sys.executable).parent / "labnetz"
    if not script.exists():
        return "labnetz"
    with contextlib.suppress(ValueError):
        return str(script.relative_to(Path.cwd()))
    return str(script)


def print_banner(hs: LocalSynapse, passwords: dict[str, str], web_url: str | None) -> None:
    cmd = _labnetz_command()
    users = [(hs.user_id(u), DEMO_USERS[u], passwords[u]) for u in DEMO_USERS]
    aliases = [f"#{alias}:{hs.server_name}" for alias in ROOMS]
    admin = hs.user_id(ADMIN)
    user_lines = "\n".join(f"    {uid:<24} {name:<14} {pw}" for uid, name, pw in users)
    room_lines = "\n".join(
        f"    {a:<28} {ROOMS[alias][0]}" + ("  (verschlüsselt / encrypted)" if ROOMS[alias][1] else "")
        for alias, a in zip(ROOMS, aliases, strict=True)
    )
    web = (
        f"  Web:        {web_url}/health   {web_url}/metrics"
        if web_url
        else "  Web:        (Bot nicht gestartet / bot not started)"
    )
    print(
        f"""
================================================================================
 Labnetz-Demo läuft / Labnetz demo is running
================================================================================
  Homeserver: {hs.url}
{web}

  Benutzer / users (Passwort / password):
{user_lines}
    {hs.user_id(BOT):<24} {"(der Bot / the bot)":<14}

  Räume / rooms:
{room_lines}

DE: Chatten Sie im Terminal mit dem Bot:
EN: Chat with the bot from a terminal:

  {cmd} chat --homeserver {hs.url} --user {admin} --password {passwords[ADMIN]} --room '#bundesteam:{hs.server_name}'
  {cmd} chat --homeserver {hs.url} --user {hs.user_id("anna")} --password {passwords["anna"]} --room '#ogl-leipzig:{hs.server_name}'

  Probieren Sie / try:  !ping   !hilfe   !werbinich   !labore   !labor info   !raeume
                        !buchen Coworking morgen 14-16 --plaetze 2   !frei Coworking morgen   !heute
                        !wer kennt sich mit Datenschutz aus   !experte suchen Barrierefreiheit
                        !erinnere in 1 Minute; Kaffee   !meilenstein vorlage --beginn 01.01.2027
                        !frage Wann startet der Förderaufruf?   (im Bundesteam: !ankuendigen …)
  Die Räume in Leipzig, Köln und Kiel sind mit den Demo-Laboren verknüpft; Anna koordiniert
  OGL Leipzig. Ben (Köln, Jurist) und Clara (Leipzig, Designerin) haben sich selbst als
  Expert:innen eingetragen und zugestimmt. / The Leipzig, Köln and Kiel rooms are linked to demo
  labs; Anna coordinates Leipzig. Ben and Clara entered themselves as experts and consented.

  Skriptbar / scriptable:
  printf '!ping\\n' | {cmd} chat --homeserver {hs.url} --user {admin} --password {passwords[ADMIN]} --room '#bundesteam:{hs.server_name}'

DE: Jeder Matrix-Client (z. B. Element) kann sich mit {hs.url} verbinden.
EN: Any Matrix client (e.g. Element) can connect to {hs.url}.

Strg-C beendet Bot und Homeserver. Ein erneuter Start verwendet alles wieder.
Ctrl-C stops the bot and the homeserver. Running again reuses everything.
================================================================================
""",
        flush=True,
    )
