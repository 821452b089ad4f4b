"""Pills in the HTML body become Matrix ids in the command text."""

from __future__ import annotations

from bot.mentions import command_text
from bot.router import strip_reply_fallback


def html(formatted: str) -> dict:
    return {"format": "org.matrix.custom.html", "formatted_body": formatted}


def test_a_user_pill_becomes_the_matrix_id() -> None:
    content = html('!rolle vergeben <a href="https://matrix.to/#/@anna:example.org">Anna Schmidt</a> koordinator')
    assert command_text(content, "!rolle vergeben Anna Schmidt koordinator") == (
        "!rolle vergeben @anna:example.org koordinator"
    )


def test_a_pill_for_the_bot_starts_the_command() -> None:
    content = html('<a href="https://matrix.to/#/%40labnetz%3Aexample.org">Labnetz</a>: hilfe')
    assert command_text(content, "Labnetz: hilfe") == "@labnetz:example.org: hilfe"


def test_without_pills_the_plain_body_is_used() -> None:
    assert command_text(html("<b>!ping</b>"), "!ping") == "!ping"
    assert command_text({}, "!ping") == "!ping"
    assert command_text(html('<a href="https://example.org">x</a>'), "!ping x") == "!ping x"


def test_the_quoted_original_of_a_reply_is_dropped() -> None:
    content = html(
        '<mx-reply><blockquote><a href="https://matrix.to/#/@bob:x">Bob</a> hi</blockquote></mx-reply>'
        '!rolle entziehen <a href="https://matrix.to/#/@bob:x">Bob</a> koordinator'
    )
    assert command_text(content, "> <@bob:x> hi\n\n!rolle entziehen Bob koordinator") == (
        "!rolle entziehen @bob:x koordinator"
    )
    assert strip_reply_fallback("> <@bob:x> hi\n> more\n\n!ping") == "!ping"


def test_entities_are_decoded() -> None:
    content = html('!kontakt 3 &quot;Hallo&quot; <a href="https://matrix.to/#/@a:x">A</a> &amp; Co')
    assert command_text(content, "") == '!kontakt 3 "Hallo" @a:x & Co'
