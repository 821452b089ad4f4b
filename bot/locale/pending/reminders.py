"""German translations of the reminders feature (merged with bot/locale/translate.py)."""

T = {
    "#{id} next {when} ({rule}): {text}": "#{id} nächste {when} ({rule}): {text}",
    "#{id} {when}: {text}": "#{id} {when}: {text}",
    "A reminder can be at most 10 years ahead.": "Eine Erinnerung kann höchstens 10 Jahre im Voraus liegen.",
    "A reminder needs one point in time, not a range like “{text}”.":
        "Eine Erinnerung braucht einen Zeitpunkt, keinen Zeitraum wie „{text}“.",
    "A reminder to this room, once or recurring (every …), delivered even after downtime.":
        "Eine Erinnerung in diesen Raum, einmalig oder wiederkehrend (jeden …), auch nach einem Ausfall zugestellt.",
    "Cancel one with `{command}`.": "Löschen mit `{command}`.",
    "Cancels a reminder (its author, or a coordinator of the room).":
        "Löscht eine Erinnerung (wer sie angelegt hat, oder Koordinator:innen des Raums).",
    "I did not understand “{text}” as a time or a recurrence. "
    "Examples: in 10 minutes, tomorrow 9am, every monday 9:00, every 1st of month 10:00.":
        "„{text}“ habe ich nicht als Zeitpunkt oder Wiederholung verstanden. "
        "Beispiele: in 10 Minuten, morgen 9 Uhr, jeden Montag 9 Uhr, jeden 1. des Monats 10 Uhr.",
    "Next time: {when} (#{id})": "Nächstes Mal: {when} (#{id})",
    "Only its author or a coordinator of this room can cancel reminder #{id}.":
        "Erinnerung #{id} kann nur löschen, wer sie angelegt hat, oder Koordinator:innen dieses Raums.",
    "Please separate the time and the text with “;”.": "Bitte trennen Sie Zeitpunkt und Text mit „;“.",
    "Recurring reminder #{id} ({rule}), next on {when}: {text}":
        "Wiederkehrende Erinnerung #{id} ({rule}), nächste am {when}: {text}",
    "Reminder #{id} cancelled: {text}": "Erinnerung #{id} gelöscht: {text}",
    "Reminder #{id} set for {when}: {text}": "Erinnerung #{id} für {when}: {text}",
    "Reminders": "Erinnerungen",
    "The room's pending reminders, with ids and next times.":
        "Die ausstehenden Erinnerungen des Raums, mit Nummer und nächstem Termin.",
    "The text is too long: at most {limit} characters.": "Der Text ist zu lang: höchstens {limit} Zeichen.",
    "This room already has {limit} pending reminders. Please cancel some first.":
        "Dieser Raum hat schon {limit} ausstehende Erinnerungen. Bitte löschen Sie zuerst einige.",
    "This room has no pending reminder #{id}.": "Dieser Raum hat keine ausstehende Erinnerung #{id}.",
    "This room has no pending reminders. Set one with `{example}`.":
        "Dieser Raum hat keine ausstehenden Erinnerungen. Eine neue legen Sie so an: `{example}`.",
    "What should I remind you of? Put the text after the “;”.":
        "Woran soll ich erinnern? Schreiben Sie den Text hinter das „;“.",
    "When? Put the time before the “;”.": "Wann? Schreiben Sie den Zeitpunkt vor das „;“.",
    "Which reminder? Give its id, e.g. #12 (see `{command}`).":
        "Welche Erinnerung? Geben Sie ihre Nummer an, z. B. #12 (siehe `{command}`).",
    "remind <when>; <text>": "erinnere <wann>; <Text>",
    "remind every monday 9:00; jour fixe": "erinnere jeden Montag 9 Uhr; Jour fixe",
    "remind in 10 minutes; stand-up": "erinnere in 10 Minuten; Stand-up",
    "remind tomorrow 9am; send the funding application": "erinnere morgen 9 Uhr; Förderantrag abschicken",
    "reminder cancel 12": "erinnerung loeschen 12",
    "reminder cancel <id>": "erinnerung loeschen <Nummer>",
    "reminders": "erinnerungen",
    ("{n} pending reminder", "{n} pending reminders"):
        ("{n} ausstehende Erinnerung", "{n} ausstehende Erinnerungen"),
    "{when} is already in the past.": "{when} liegt bereits in der Vergangenheit.",
    "“{cron}” is not a crontab with 5 fields like `cron 0 9 * * 1` (minute, hour, day, month, weekday).":
        "„{cron}“ ist kein Crontab mit 5 Feldern wie `cron 0 9 * * 1` (Minute, Stunde, Tag, Monat, Wochentag).",
    "“{text}” does not fit a clock: use every 1–30 minutes (dividing the hour) or every 1–12 hours.":
        "„{text}“ passt nicht zur Uhr: möglich sind alle 1–30 Minuten (als Teiler der Stunde) "
        "oder alle 1–12 Stunden.",
    "“{text}” never happens.": "„{text}“ kommt nie vor.",
    "… and {n} more.": "… und {n} weitere.",
    "⏰ **Reminder** (late, was due {when}): {text}": "⏰ **Erinnerung** (verspätet, fällig war {when}): {text}",
    "⏰ **Reminder:** {text}": "⏰ **Erinnerung:** {text}",
}
