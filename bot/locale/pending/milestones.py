"""German translations of the milestones and weekly digest feature (merged by bot/locale/translate.py)."""

T = {
    # commands/milestones.py
    "Milestones": "Meilensteine",
    "the due date, e.g. 15.01.2027": "das Fälligkeitsdatum, z. B. 15.01.2027",
    "a milestone of the whole network": "ein Meilenstein des ganzen Netzwerks",
    "Please give one day, not a period: {text}": "Bitte geben Sie einen Tag an, keinen Zeitraum: {text}",
    "Choose either --lab or --network.": "Bitte wählen Sie entweder --labor oder --netzwerk.",
    "the network": "das Netzwerk",
    "milestone add <title> --due <date> [--lab <lab> | --network] [--owner <@user>] [--remind 30d,7d,1d]":
        "meilenstein anlegen <Titel> --faellig <Datum> [--labor <Labor> | --netzwerk] "
        "[--verantwortlich <@nutzer>] [--erinnern 30d,7d,1d]",
    "Adds a milestone; notices go to the lab's rooms (or the federal room) before, on and after the due day.":
        "Legt einen Meilenstein an; Hinweise gehen vor, am und nach dem Fälligkeitstag in die Räume des "
        "Labors (oder in den Raum des Bundesteams).",
    'milestone add "Concept blueprint" --due 15.01.2027 --remind 30d,7d':
        "meilenstein anlegen „Konzept“ --faellig 15.01.2027 --erinnern 30d,7d",
    "who is responsible (default: you)": "wer verantwortlich ist (Standard: Sie)",
    "days before the due day, e.g. 30d,7d,1d, or none": "Tage vor dem Fälligkeitstag, z. B. 30d,7d,1d, oder keine",
    "A milestone needs a title and a due date (--due).":
        "Ein Meilenstein braucht einen Titel und ein Fälligkeitsdatum (--faellig).",
    "The title is too long (at most {max} characters).": "Der Titel ist zu lang (höchstens {max} Zeichen).",
    "“{owner}” is not a Matrix user id like @name:example.org.":
        "„{owner}“ ist keine Matrix-ID wie @name:example.org.",
    "Milestone **#{id}** added to {scope}: {title}, due {day}.":
        "Meilenstein **#{id}** für {scope} angelegt: {title}, fällig am {day}.",
    "Responsible: {owner}": "Verantwortlich: {owner}",
    "Notices at 09:00: {offsets} before, on the due day, then daily while overdue.":
        "Hinweise um 09:00 Uhr: {offsets} vorher, am Fälligkeitstag und danach täglich, solange er überfällig ist.",
    "This day is past: the milestone is overdue, and a notice goes out daily until it is done.":
        "Dieser Tag liegt in der Vergangenheit: Der Meilenstein ist überfällig, und bis er erledigt ist, "
        "geht täglich ein Hinweis hinaus.",
    "{lab} has no linked room yet, so its notices have nowhere to go.":
        "{lab} hat noch keinen verknüpften Raum, daher erreichen seine Hinweise niemanden.",
    "milestone template --start <date> [--lab <lab>]": "meilenstein vorlage --beginn <Datum> [--labor <Labor>]",
    "Creates the milestones of the 5-year programme, counted from the start date.":
        "Legt die Meilensteine des 5-Jahres-Programms an, gerechnet ab dem Beginn.",
    "milestone template --start 01.03.2027": "meilenstein vorlage --beginn 01.03.2027",
    "the day the lab's term starts": "der Tag, an dem die Laufzeit des Labors beginnt",
    "When does the term start? Give --start <date>.":
        "Wann beginnt die Laufzeit? Bitte geben Sie --beginn <Datum> an.",
    "{lab} already has the milestones of the 5-year programme. `{command}` lists them.":
        "{lab} hat die Meilensteine des 5-Jahres-Programms bereits. `{command}` listet sie auf.",
    "The 5-year programme of {lab}, from {day}:": "Das 5-Jahres-Programm von {lab} ab {day}:",
    ("{n} of them is already past. Mark it with `{command}` if it is done.",
     "{n} of them are already past. Mark them with `{command}` if they are done."): (
        "{n} davon liegt bereits in der Vergangenheit. Markieren Sie ihn mit `{command}`, wenn er erledigt ist.",
        "{n} davon liegen bereits in der Vergangenheit. Markieren Sie sie mit `{command}`, wenn sie erledigt sind.",
    ),
    "milestone done <id>": "meilenstein erledigt <id>",
    "Which milestone? Give its id, e.g. #12.": "Welcher Meilenstein? Bitte geben Sie seine Nummer an, z. B. #12.",
    "There is no milestone #{id}.": "Es gibt keinen Meilenstein #{id}.",
    "Marks a milestone as done; its notices stop.": "Markiert einen Meilenstein als erledigt; seine Hinweise enden.",
    "milestone done 12": "meilenstein erledigt 12",
    "Milestone #{id} is already done.": "Meilenstein #{id} ist bereits erledigt.",
    "Milestone **#{id}** {title} is done. Its notices are cancelled.":
        "Meilenstein **#{id}** {title} ist erledigt. Seine Hinweise sind gestrichen.",
    "milestone move <id> --due <date>": "meilenstein verschieben <id> --faellig <Datum>",
    "Moves a milestone to another day; its notices follow.":
        "Verschiebt einen Meilenstein auf einen anderen Tag; seine Hinweise folgen.",
    "milestone move 12 --due 01.03.2027": "meilenstein verschieben 12 --faellig 01.03.2027",
    "To which day? Give --due <date>.": "Auf welchen Tag? Bitte geben Sie --faellig <Datum> an.",
    "Milestone **#{id}** {title} moved from {before} to {day}. Its notices follow.":
        "Meilenstein **#{id}** {title} vom {before} auf den {day} verschoben. Seine Hinweise folgen.",
    "milestone remove <id>": "meilenstein entfernen <id>",
    "Removes a milestone and its notices.": "Entfernt einen Meilenstein mit seinen Hinweisen.",
    "milestone remove 12": "meilenstein entfernen 12",
    "Milestone **#{id}** {title} removed, with its notices.":
        "Meilenstein **#{id}** {title} mit seinen Hinweisen entfernt.",
    "milestones [--lab <lab> | --network | --overdue]": "meilensteine [--labor <Labor> | --netzwerk | --ueberfaellig]",
    "Lists milestones with status and due dates; --overdue across all labs.":
        "Listet Meilensteine mit Stand und Fälligkeit; --ueberfaellig über alle Labore.",
    "milestones --overdue": "meilensteine --ueberfaellig",
    "only overdue ones, across all labs unless --lab": "nur überfällige, über alle Labore (außer mit --labor)",
    "No milestones for {scope} yet. `{command}` adds one.":
        "Noch keine Meilensteine für {scope}. `{command}` legt einen an.",
    "milestone add": "meilenstein anlegen",
    "Milestones of {lab}": "Meilensteine von {lab}",
    "Network milestones": "Meilensteine des Netzwerks",
    "… and {n} more.": "… und {n} weitere.",
    " (responsible: {owner})": " (verantwortlich: {owner})",
    "No milestone is overdue.": "Kein Meilenstein ist überfällig.",
    "Overdue milestones": "Überfällige Meilensteine",
    "Network": "Netzwerk",
    # commands/milestone_plan.py
    "Concept blueprint and local actors identified": "Konzept (Blaupause) und lokale Akteure identifiziert",
    "Legitimation (ratification)": "Legitimation (Ratifizierung)",
    "Interim evaluation": "Zwischenevaluation",
    "Final evaluation and application for the next 5-year round":
        "Abschlussevaluation und Antrag für die nächste 5-Jahres-Runde",
    "End of the 5-year term": "Ende der 5-jährigen Laufzeit",
    "“{value}” is not a reminder offset like 30d, 7d or 2w.":
        "„{value}“ ist kein Erinnerungsabstand wie 30d, 7d oder 2w.",
    "Reminder offsets must lie between 1 day and {max} days.":
        "Erinnerungsabstände müssen zwischen 1 Tag und {max} Tagen liegen.",
    "At most {max} reminder offsets, please.": "Bitte höchstens {max} Erinnerungsabstände.",
    "done on {day}": "erledigt am {day}",
    "due today": "heute fällig",
    ("open, due in {n} day", "open, due in {n} days"): ("offen, fällig in {n} Tag", "offen, fällig in {n} Tagen"),
    ("overdue by {n} day", "overdue by {n} days"): ("seit {n} Tag überfällig", "seit {n} Tagen überfällig"),
    # commands/milestone_notices.py
    ("{scope}: milestone **#{id}** {title} is due in {n} day, on {day}.",
     "{scope}: milestone **#{id}** {title} is due in {n} days, on {day}."): (
        "{scope}: Meilenstein **#{id}** {title} ist in {n} Tag fällig, am {day}.",
        "{scope}: Meilenstein **#{id}** {title} ist in {n} Tagen fällig, am {day}.",
    ),
    "{scope}: milestone **#{id}** {title} is due today ({day}).":
        "{scope}: Meilenstein **#{id}** {title} ist heute fällig ({day}).",
    ("{scope}: milestone **#{id}** {title} is overdue by {n} day (due {day}).",
     "{scope}: milestone **#{id}** {title} is overdue by {n} days (due {day})."): (
        "{scope}: Meilenstein **#{id}** {title} ist seit {n} Tag überfällig (fällig am {day}).",
        "{scope}: Meilenstein **#{id}** {title} ist seit {n} Tagen überfällig (fällig am {day}).",
    ),
    "Done? `{done}`. A new date? `{move}`.": "Erledigt? `{done}`. Neuer Termin? `{move}`.",
    "milestone done {id}": "meilenstein erledigt {id}",
    "milestone move {id} --due <date>": "meilenstein verschieben {id} --faellig <Datum>",
    "Late: this notice was due at {when}.": "Verspätet: Dieser Hinweis war für {when} fällig.",
    ("Weekly summary: {n} milestone is overdue", "Weekly summary: {n} milestones are overdue"): (
        "Wochenübersicht: {n} Meilenstein ist überfällig",
        "Wochenübersicht: {n} Meilensteine sind überfällig",
    ),
    "… and {n} more. `{command}` lists them.": "… und {n} weitere. `{command}` listet sie auf.",
    # commands/digest.py
    "Weekly digest of {lab}, {first}–{last}": "Wochenbericht von {lab}, {first}–{last}",
    "Milestones in the next 4 weeks": "Meilensteine in den nächsten 4 Wochen",
    "None.": "Keine.",
    " (network)": " (Netzwerk)",
    "Bookings this week": "Buchungen dieser Woche",
    "No bookings yet.": "Noch keine Buchungen.",
    ("{n} booking", "{n} bookings"): ("{n} Buchung", "{n} Buchungen"),
    ("{n} place", "{n} places"): ("{n} Platz", "{n} Plätze"),
    "digest on|off": "wochenbericht an|aus",
    "Weekly digest for this lab room, Mondays 09:00: milestones, this week's bookings and more.":
        "Wochenbericht für diesen Laborraum, montags um 09:00 Uhr: Meilensteine, Buchungen der Woche und mehr.",
    "digest on": "wochenbericht an",
    "The weekly digest is for rooms linked to a lab. Link this room first (`{command}`).":
        "Der Wochenbericht ist für Räume, die mit einem Labor verknüpft sind. Bitte verknüpfen Sie diesen "
        "Raum zuerst (`{command}`).",
    "lab link": "labor verknuepfen",
    "The weekly digest is on: Mondays at 09:00, next on {day}.":
        "Der Wochenbericht ist eingeschaltet: montags um 09:00 Uhr, der nächste am {day}.",
    "The weekly digest is off for this room.": "Der Wochenbericht ist für diesen Raum ausgeschaltet.",
    "“{value}” is neither on nor off.": "„{value}“ ist weder an noch aus.",
    "The weekly digest is off for this room. `{command}` turns it on.":
        "Der Wochenbericht ist für diesen Raum ausgeschaltet. `{command}` schaltet ihn ein.",
}
T["Next milestone: {milestone}"] = "Nächster Meilenstein: {milestone}"
T["milestones"] = "meilensteine"
T["Notices at 09:00: on the due day, then daily while overdue."] = (
    "Hinweise um 09:00 Uhr: am Fälligkeitstag und danach täglich, solange er überfällig ist."
)
T["{day} is more than {years} years away. Please check the year."] = (
    "Der {day} liegt mehr als {years} Jahre entfernt. Bitte prüfen Sie die Jahreszahl."
)
