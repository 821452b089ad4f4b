"""Where personal data lives: every table that can hold a Matrix user id or a display name.

`mydata` exports and `forget me` deletes through this registry. A test checks that every table
in the schema is either registered here or listed in NO_PERSONAL_DATA, so a new table cannot be
forgotten by accident.

Actions:
- "delete": rows whose `user_columns` hold the user's id are deleted (the row is about them);
- "anonymise": those columns are cleared (NULL, or ANONYMOUS where the column is required),
  and so are the row's `name_columns` (NULL, or ERASED where required); the row stays (e.g. a
  booking keeps occupancy right; an audit entry keeps what happened);
- "scrub": JSON or text columns are cleaned of the user's id and names, the row stays.
"""

from __future__ import annotations

from dataclasses import dataclass

ANONYMOUS = "@forgotten"  # placeholder for a required column once its user is forgotten
ERASED = "–"  # placeholder for a required text column (a question's text) once its author is forgotten


@dataclass(frozen=True)
class PersonalTable:
    table: str
    action: str  # "delete" | "anonymise" | "scrub"
    user_columns: tuple[str, ...] = ()  # hold a Matrix user id
    name_columns: tuple[str, ...] = ()  # hold a display name or free text that may name them
    json_columns: tuple[str, ...] = ()  # JSON that may contain the id or a name


class Registry:
    def __init__(self) -> None:
        self.tables: dict[str, list[PersonalTable]] = {}

    def register(
        self,
        table: str,
        *,
        action: str,
        user_columns: tuple[str, ...] = (),
        name_columns: tuple[str, ...] = (),
        json_columns: tuple[str, ...] = (),
    ) -> None:
        if action not in {"delete", "anonymise", "scrub"}:
            raise ValueError(f"unknown action {action!r}")
        entry = PersonalTable(table, action, user_columns, name_columns, json_columns)
        self.tables.setdefault(table, []).append(entry)

    def entries(self) -> list[PersonalTable]:
        return [entry for entries in self.tables.values() for entry in entries]


PERSONAL = Registry()

# Tables that never hold a user id or a name.
NO_PERSONAL_DATA: set[str] = {"meta", "handled_events", "spaces", "alembic_version"}
NO_PERSONAL_DATA |= {"announcement_copies", "relay_messages"}  # room and event ids only

PERSONAL.register("users", action="delete", user_columns=("user_id",), name_columns=("display_name",))
PERSONAL.register("rooms", action="scrub", json_columns=("creators",))
PERSONAL.register("outbox", action="scrub", json_columns=("content",))
PERSONAL.register("audit_log", action="anonymise", user_columns=("actor",), json_columns=("detail",))
PERSONAL.register("labs", action="anonymise", user_columns=("created_by",))
PERSONAL.register("lab_rooms", action="anonymise", user_columns=("linked_by",))
PERSONAL.register("role_grants", action="delete", user_columns=("user_id",))
PERSONAL.register("role_grants", action="anonymise", user_columns=("granted_by",))
PERSONAL.register("closures", action="anonymise", user_columns=("created_by",))
PERSONAL.register("bookings", action="anonymise", user_columns=("user_id",), name_columns=("note",))
PERSONAL.register("bookings", action="anonymise", user_columns=("cancelled_by",))
PERSONAL.register("due_items", action="delete", user_columns=("owner",), json_columns=("payload",))
PERSONAL.register("milestones", action="anonymise", user_columns=("owner", "created_by", "done_by"))
PERSONAL.register("announcements", action="anonymise", user_columns=("author",), name_columns=("author_name",))
PERSONAL.register("announcement_acks", action="delete", user_columns=("user_id",))
# A question keeps its place in the federal team's list, but not who asked it or what they wrote.
PERSONAL.register("questions", action="anonymise", user_columns=("asker",), name_columns=("asker_name", "text"))
PERSONAL.register("questions", action="anonymise", user_columns=("answered_by",))
