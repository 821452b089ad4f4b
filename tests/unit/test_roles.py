"""The role-resolution matrix: config admins, grants, power levels and memberships."""

from __future__ import annotations

import pytest

from commands.access import resolve
from commands.context import FixedClock, NetworkSettings
from commands.roles import Principal, Role
from storage import Database
from tests.unit.commandkit import FEDERAL, StateTable

NETWORK = NetworkSettings(
    name="Open Gov Labs", language="de", timezone="Europe/Berlin",
    admins=frozenset({"@admin:x"}), federal_room_id=FEDERAL,
)
LAB_ROOM, OTHER_LAB_ROOM, PLAIN_ROOM, DM = "!lab:x", "!lab2:x", "!plain:x", "!dm:x"


@pytest.fixture
async def labs(db: Database, clock: FixedClock) -> dict[str, int]:
    async with db.transaction() as store:
        ids = {}
        for slug, state in (("ogl-leipzig", "SN"), ("ogl-koeln", "NW")):
            lab = await store.labs.create(
                slug=slug, name=slug, city="c", state=state, level="kommune", host=None,
                host_legal_form=None, timezone="Europe/Berlin", created_by="@admin:x", now=clock.now(),
            )
            ids[slug] = lab.id
        await store.labs.link(LAB_ROOM, ids["ogl-leipzig"], "@admin:x", clock.now())
        await store.labs.link(OTHER_LAB_ROOM, ids["ogl-koeln"], "@admin:x", clock.now())
        await store.grants.grant("@granted:x", "coordinator", ids["ogl-koeln"], "@admin:x", clock.now())
        await store.grants.grant("@mgr:x", "manager", None, "@admin:x", clock.now())
    return ids


def world() -> StateTable:
    state = StateTable()
    state.join(FEDERAL, "@fedmod:x", 50)
    state.join(FEDERAL, "@fedmember:x")
    state.join(LAB_ROOM, "@labmod:x", 50)
    state.join(LAB_ROOM, "@member:x")
    state.join(LAB_ROOM, "@granted:x")
    state.join(PLAIN_ROOM, "@plainmod:x", 100)
    state.join(PLAIN_ROOM, "@member:x")
    state.join(DM, "@member:x")
    state.direct.add(DM)
    return state


async def principal(db: Database, user: str, room: str) -> tuple[Principal, int | None]:
    async with db.transaction() as store:
        return await resolve(store, world(), NETWORK, user, room)


# (user, room, role, lab slug or None for "this room's lab"/no lab, expected)
MATRIX = [
    ("@admin:x", PLAIN_ROOM, Role.ADMIN, None, True),
    ("@admin:x", LAB_ROOM, Role.COORDINATOR, "ogl-koeln", True),
    ("@mgr:x", LAB_ROOM, Role.ADMIN, None, False),
    ("@mgr:x", LAB_ROOM, Role.MANAGER, None, True),
    ("@mgr:x", PLAIN_ROOM, Role.COORDINATOR, "ogl-koeln", True),
    ("@fedmod:x", PLAIN_ROOM, Role.MANAGER, None, True),
    ("@fedmember:x", PLAIN_ROOM, Role.MANAGER, None, False),
    ("@labmod:x", LAB_ROOM, Role.COORDINATOR, "ogl-leipzig", True),
    ("@labmod:x", LAB_ROOM, Role.COORDINATOR, "ogl-koeln", False),
    ("@labmod:x", LAB_ROOM, Role.MANAGER, None, False),
    ("@granted:x", LAB_ROOM, Role.COORDINATOR, "ogl-koeln", True),
    ("@granted:x", LAB_ROOM, Role.COORDINATOR, "ogl-leipzig", False),
    ("@granted:x", LAB_ROOM, Role.MEMBER, "ogl-leipzig", True),
    ("@granted:x", LAB_ROOM, Role.MEMBER, "ogl-koeln", True),
    ("@member:x", LAB_ROOM, Role.MEMBER, "ogl-leipzig", True),
    ("@member:x", LAB_ROOM, Role.MEMBER, "ogl-koeln", False),
    ("@member:x", LAB_ROOM, Role.COORDINATOR, "ogl-leipzig", False),
    ("@stranger:x", LAB_ROOM, Role.MEMBER, "ogl-leipzig", False),
    ("@stranger:x", LAB_ROOM, Role.EVERYONE, "ogl-leipzig", True),
    # Rooms without a lab are governed by their moderators; a DM by its user.
    ("@plainmod:x", PLAIN_ROOM, Role.COORDINATOR, None, True),
    ("@member:x", PLAIN_ROOM, Role.COORDINATOR, None, False),
    ("@member:x", DM, Role.COORDINATOR, None, True),
    ("@plainmod:x", PLAIN_ROOM, Role.COORDINATOR, "ogl-leipzig", False),
]


@pytest.mark.parametrize(("user", "room", "role", "lab", "expected"), MATRIX)
async def test_role_matrix(
    db: Database, labs: dict[str, int], user: str, room: str, role: Role, lab: str | None, expected: bool
) -> None:
    p, room_lab = await principal(db, user, room)
    target = labs[lab] if lab else room_lab
    assert p.has(role, target) is expected


async def test_room_lab_and_memberships_are_resolved(db: Database, labs: dict[str, int]) -> None:
    p, room_lab = await principal(db, "@member:x", LAB_ROOM)
    assert room_lab == labs["ogl-leipzig"]
    assert p.member_of == {labs["ogl-leipzig"]} and p.coordinator_of == frozenset()
    p, room_lab = await principal(db, "@granted:x", PLAIN_ROOM)
    assert room_lab is None and p.coordinator_of == {labs["ogl-koeln"]}
    assert p.member_of == {labs["ogl-leipzig"], labs["ogl-koeln"]}


async def test_revoked_grant_no_longer_counts(db: Database, labs: dict[str, int], clock: FixedClock) -> None:
    async with db.transaction() as store:
        assert await store.grants.revoke("@granted:x", "coordinator", labs["ogl-koeln"]) is True
    p, _ = await principal(db, "@granted:x", LAB_ROOM)
    assert not p.has(Role.COORDINATOR, labs["ogl-koeln"])
