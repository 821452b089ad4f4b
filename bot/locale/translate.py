"""Maintainer tool: merge a dict of German translations into the catalog, then compile.

Usage: python bot/locale/translate.py FILE.py  (FILE defines T = {msgid: msgstr, ...};
plural entries use tuples). `make i18n` first, so the catalog knows every msgid.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent


def main(path: str) -> None:
    translations = runpy.run_path(path)["T"]
    po_path = HERE / "de" / "LC_MESSAGES" / "labnetz.po"
    with po_path.open("rb") as f:
        catalog = read_po(f)
    for msgid, msgstr in translations.items():
        message = catalog.get(msgid)
        if message is None:
            catalog.add(msgid, msgstr)
        else:
            message.string = msgstr
            message.flags.discard("fuzzy")
    with po_path.open("wb") as f:
        write_po(f, catalog, sort_output=True, no_location=True)
    with po_path.with_suffix(".mo").open("wb") as f:
        write_mo(f, catalog)


if __name__ == "__main__":
    main(sys.argv[1])
