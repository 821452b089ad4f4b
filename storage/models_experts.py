"""Tables of the expert and organisation directory: entries, their search vocabulary,
introductions (contacts) and the bot's direct rooms with users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.personal import NO_PERSONAL_DATA, PERSONAL


class Expert(Base):
    """A person (a Matrix user, with consent) or an organisation (added by a coordinator,
    confirmed by its contact). Listed only when `status` is "active"."""

    __tablename__ = "experts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8), default="person")  # person | org
    user_id: Mapped[str | None] = mapped_column(String(255), index=True)  # the person
    contact_id: Mapped[str | None] = mapped_column(String(255), index=True)  # an org's contact
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40), index=True)
    skills: Mapped[str] = mapped_column(Text, default="")
    languages: Mapped[str] = mapped_column(String(80), default="de")
    about: Mapped[str | None] = mapped_column(Text)
    lab_id: Mapped[int | None] = mapped_column(ForeignKey("labs.id", ondelete="SET NULL"), index=True)
    state: Mapped[str | None] = mapped_column(String(2))  # Bundesland code
    public: Mapped[bool] = mapped_column(default=False)
    confidential: Mapped[bool] = mapped_column(default=False)
    accepts_requests: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | active
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    consented_at: Mapped[datetime | None]  # first confirmation (consent)
    confirmed_at: Mapped[datetime | None]  # last (re)confirmation
    # Lower-case search text: name, category names, skills | about. Indexed by trigram.
    search_keys: Mapped[str] = mapped_column(Text, default="")
    search_about: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_experts_status_confirmed", "status", "confirmed_at"),)


class ExpertTerm(Base):
    """The words of all entries, with how many entries use them: the candidates for
    correcting a misspelt search word. A word no entry uses any more is deleted."""

    __tablename__ = "expert_terms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    term: Mapped[str] = mapped_column(String(120), unique=True)
    uses: Mapped[int] = mapped_column(default=1)


RANK_INDEX = ("ix_expert_postings_rank", "term_id", "weight", text("listed_at DESC"), "expert_id", "lab_id", "state",
              "category")
LAB_INDEX = ("ix_expert_postings_lab", "term_id", "lab_id", "weight", text("listed_at DESC"), "expert_id", "state", "category")
STATE_INDEX = ("ix_expert_postings_state", "term_id", "state", "weight", text("listed_at DESC"), "expert_id", "lab_id", "category")


class ExpertPosting(Base):
    """Which entry uses which word, and where: 2 = name, category or skills; 1 = about only.
    Search finds the words by trigram (substring or typo), then the entries through here.
    What ranking and filters need is copied from the entry, so a search never has to visit
    the entries of all its matches: listed_at (confirmed_at while listed, else NULL), lab,
    Bundesland, category."""

    __tablename__ = "expert_postings"
    term_id: Mapped[int] = mapped_column(ForeignKey("expert_terms.id", ondelete="CASCADE"), primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), primary_key=True, index=True)
    weight: Mapped[int]
    listed_at: Mapped[datetime | None]
    lab_id: Mapped[int | None]
    state: Mapped[str | None] = mapped_column(String(2))
    category: Mapped[str] = mapped_column(String(40))

    __table_args__ = (
        # Search, staged by proximity (storage/expert_ranking.py): the network's
        # newest entries at the top weight, and all of a word's entries in a lab or Bundesland.
        # Each holds every column a search reads, so it never visits the table.
        Index(*RANK_INDEX),
        Index(*LAB_INDEX),
        Index(*STATE_INDEX),
        {"sqlite_with_rowid": False},
    )


class ExpertContact(Base):
    """An introduction: a requester's message delivered to an expert; replies go back."""

    __tablename__ = "expert_contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), index=True)
    requester: Mapped[str] = mapped_column(String(255))
    requester_name: Mapped[str | None] = mapped_column(String(255))
    requester_room: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    replies: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_expert_contacts_requester_created", "requester", "created_at"),)


class DirectRoom(Base):
    """The bot's direct chat with a user, created by the sender on the first DM to them."""

    __tablename__ = "direct_rooms"
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime]


# Personal data (see storage/personal.py). An entry and its introductions are about the
# person; an organisation only loses its contact. The vocabulary holds single words shared by
# entries and is pruned when an entry goes, so it holds nothing about a person.
PERSONAL.register("experts", action="delete", user_columns=("user_id",), name_columns=("name", "about"))
PERSONAL.register("experts", action="anonymise", user_columns=("contact_id", "created_by"))
PERSONAL.register("expert_contacts", action="delete", user_columns=("requester",),
                  name_columns=("requester_name", "message"))
PERSONAL.register("direct_rooms", action="delete", user_columns=("user_id",))
# Direct messages to the user that were not sent yet are addressed to their id.
PERSONAL.register("outbox", action="delete", user_columns=("room_id",))
# A direct room's computed name is the other member's display name.
PERSONAL.register("rooms", action="scrub", name_columns=("name",))
NO_PERSONAL_DATA.update({"expert_terms", "expert_postings"})
