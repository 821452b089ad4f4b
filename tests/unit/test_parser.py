"""Recognising commands and splitting their arguments, as users actually type them."""

from __future__ import annotations

import pytest

from commands.errors import BadArguments
from commands.parser import parse_args, parse_id, strip_invocation, tokenize
from commands.registry import CommandGroup, Flag, Registry
from commands.roles import Role

NAMES = ["@labnetz:example.org", "Labnetz", "labnetz"]


@pytest.mark.parametrize(
    ("body", "direct", "expected"),
    [
        ("!ping", False, "ping"),
        ("  !ping  ", False, "ping"),
        ("! ping", False, "ping"),
        ("!", False, None),
        ("ping", False, None),
        ("ping", True, "ping"),
        ("!ping", True, "ping"),
        ("Labnetz: hilfe buchen", False, "hilfe buchen"),
        ("labnetz, ping", False, "ping"),
        ("labnetz ping", False, "ping"),
        ("Labnetz: !ping", False, "ping"),
        ("@labnetz:example.org: ping", False, "ping"),
        ("labnetzwerk ping", False, None),
        ("Hallo zusammen", False, None),
        ("", True, None),
    ],
)
def test_strip_invocation(body: str, direct: bool, expected: str | None) -> None:
    assert strip_invocation(body, prefix="!", bot_names=NAMES, direct=direct) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('buchen "Raum A" morgen', ["buchen", "Raum A", "morgen"]),
        ("buchen „Großer Raum“ morgen", ["buchen", "Großer Raum", "morgen"]),
        ("buchen “Großer Raum” morgen", ["buchen", "Großer Raum", "morgen"]),
        ("buchen 'Raum B'", ["buchen", "Raum B"]),
        ("buchen »Raum C«", ["buchen", "Raum C"]),
        ('buchen "offen', ["buchen", "offen"]),
        ("geht's gut", ["geht's", "gut"]),
    ],
)
def test_tokenize_groups_quoted_words(text: str, expected: list[str]) -> None:
    assert [t.text for t in tokenize(text)] == expected


def _spec():
    group = CommandGroup("Test")

    @group.command(
        "book", "buchen", usage="book", help="", role=Role.MEMBER,
        flags=(Flag("desks", "plaetze", kind=int), Flag("weekly", "woechentlich", kind=bool),
               Flag("note", "notiz")),
    )
    async def book(ctx, args):  # pragma: no cover - never called
        raise AssertionError

    return Registry([group]).resolve(["buchen"])[0]


@pytest.mark.parametrize(
    "text",
    [
        "Coworking morgen --plaetze 3 --woechentlich",
        "Coworking morgen --desks 3 --weekly",
        "Coworking morgen —plaetze 3 —woechentlich",  # a phone turned -- into an em dash
        "Coworking morgen --Plätze 3 --WOECHENTLICH",
        "Coworking morgen --desks=3 --weekly",
    ],
)
def test_flags_in_english_german_and_phone_spelling(text: str) -> None:
    args = parse_args(_spec(), tokenize(text), text)
    assert args.positional == ["Coworking", "morgen"]
    assert args.flags == {"desks": 3, "weekly": True}


def test_quoted_flag_value_keeps_spaces() -> None:
    text = 'Coworking --notiz „Workshop mit der Tafel“'
    args = parse_args(_spec(), tokenize(text), text)
    assert args.flags == {"note": "Workshop mit der Tafel"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x --farbe rot", "Unknown option “{option}”."),
        ("x --plaetze", "The option “{option}” needs a value."),
        ("x --plaetze drei", "The option “{option}” needs a whole number, not “{value}”."),
        ("x --woechentlich=ja", "The option “{option}” takes no value."),
    ],
)
def test_bad_flags_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(BadArguments) as err:
        parse_args(_spec(), tokenize(text), text)
    assert err.value.message == message


def test_registry_resolves_either_name_case_insensitively_and_suggests() -> None:
    spec = _spec()
    registry = Registry([CommandGroup("T", [spec])])
    assert registry.resolve(["BUCHEN", "x"]) == (spec, 1)
    assert registry.resolve(["Book"]) == (spec, 1)
    assert registry.resolve(["buchn"]) is None
    assert registry.suggest(["buchn"]) == [spec]
    assert registry.suggest(["xyzzy"]) == []


def test_a_spelling_declared_twice_is_rejected() -> None:
    spec = _spec()
    with pytest.raises(ValueError, match="declared twice"):
        Registry([CommandGroup("A", [spec]), CommandGroup("B", [spec])])


@pytest.mark.parametrize(("text", "value"), [("12", 12), ("#12", 12), (" #7 ", 7)])
def test_ids_with_or_without_hash(text: str, value: int) -> None:
    assert parse_id(text) == value


@pytest.mark.parametrize("text", ["", "#", "abc", "#-1", "1.5"])
def test_bad_ids_are_refused(text: str) -> None:
    with pytest.raises(BadArguments):
        parse_id(text)
