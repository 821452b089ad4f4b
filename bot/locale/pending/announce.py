"""German translations of the announcements and the federal relay (merged by translate.py)."""

T = {
    "#{id} {lab}, {asker}, {age} ago ({answers}): {text}": "#{id} {lab}, {asker}, vor {age} ({answers}): {text}",
    "Announcement #{id} by {author}": "Ankündigung #{id} von {author}",
    "Announcement #{id} is being delivered ({rooms} rooms, {labs} labs).":
        "Ankündigung #{id} wird zugestellt (Räume: {rooms}, Labore: {labs}).",
    "Announcement #{id} is being retracted (copies removed: {n}, no longer sent: {stopped}).":
        "Ankündigung #{id} wird zurückgezogen (entfernte Exemplare: {n}, nicht mehr gesendet: {stopped}).",
    "Announcement #{id} is scheduled for {when} (as of now: {rooms} rooms, {labs} labs).":
        "Ankündigung #{id} ist für {when} geplant (Stand jetzt: Räume: {rooms}, Labore: {labs}).",
    "Announcement #{id} was cancelled before it was sent.": "Ankündigung #{id} wurde vor dem Versand abgesagt.",
    "Announcement #{id} was retracted already.": "Ankündigung #{id} wurde bereits zurückgezogen.",
    "Announcement #{id} was retracted.": "Ankündigung #{id} wurde zurückgezogen.",
    "Announcement #{id} was retracted: {sent} copies delivered, {failed} not.":
        "Ankündigung #{id} wurde zurückgezogen: {sent} Exemplare waren zugestellt, {failed} nicht.",
    "Announcement #{id} will be sent with the new text.": "Ankündigung #{id} wird mit dem neuen Text gesendet.",
    "Announcement #{id}: the text is being changed (delivered copies: {n}); copies still on their way follow.":
        "Ankündigung #{id}: Der Text wird geändert (zugestellte Exemplare: {n}); Exemplare, die noch unterwegs sind, folgen.",
    "Announcement #{id}: {sent}/{total} delivered, {failed} failed":
        "Ankündigung #{id}: {sent}/{total} zugestellt, {failed} fehlgeschlagen",
    "Announcement #{id}: {sent}/{total} delivered, {failed} failed. Done.":
        "Ankündigung #{id}: {sent}/{total} zugestellt, {failed} fehlgeschlagen. Fertig.",
    "Announcement from the federal team ({name})": "Ankündigung des Bundesteams ({name})",
    "Announcements and the federal relay": "Ankündigungen und Fragen an das Bundesteam",
    "Announcements are made in the federal room only.": "Ankündigungen gibt es nur im Raum des Bundesteams.",
    "Answer from the federal team ({name}) to question #{id}:": "Antwort des Bundesteams ({name}) auf Frage #{id}:",
    'At what time? E.g. --at "morgen 9:00".': 'Um welche Uhrzeit? Z. B. --um "morgen 9:00".',
    "Bundesland codes, comma-separated, e.g. SN,BY": "Bundesland-Kürzel, durch Kommas getrennt, z. B. SN,BY",
    "Changes the text of every copy.": "Ändert den Text in jedem Exemplar.",
    "Closes a question.": "Schließt eine Frage.",
    "Delivered, failed and pending per lab, and acknowledgements.":
        "Zugestellt, fehlgeschlagen und ausstehend je Labor, dazu die Lesebestätigungen.",
    "Dry run ({rooms} target rooms, {labs} labs). Nothing was sent.":
        "Probelauf (Zielräume: {rooms}, Labore: {labs}). Nichts wurde gesendet.",
    "Forwards a question to the federal team (in a lab room).": "Leitet eine Frage an das Bundesteam weiter (im Raum eines Labors).",
    "No announcements yet.": "Noch keine Ankündigungen.",
    "No linked lab room matches these filters. Nothing was sent.":
        "Kein verknüpfter Laborraum passt zu diesen Filtern. Nichts wurde gesendet.",
    "No open questions.": "Keine offenen Fragen.",
    "Open questions": "Offene Fragen",
    "Open questions to the federal team, oldest first.": "Offene Fragen an das Bundesteam, die ältesten zuerst.",
    "Question #{id} from {lab}, asked by {asker}:": "Frage #{id} aus {lab} von {asker}:",
    "Question #{id} is closed already.": "Frage #{id} ist bereits geschlossen.",
    "Question #{id} is closed.": "Frage #{id} ist geschlossen.",
    "Questions to the federal team are asked in a lab's room.": "Fragen an das Bundesteam stellen Sie im Raum eines Labors.",
    "Recent announcements": "Letzte Ankündigungen",
    "Recent announcements with their status.": "Die letzten Ankündigungen mit ihrem Stand.",
    "Redacts every copy.": "Entfernt jedes Exemplar.",
    "Reply to this message to answer: the answer goes to the lab's room. `{done}` closes the question.":
        "Antworten Sie auf diese Nachricht: Die Antwort geht in den Raum des Labors. `{done}` schließt die Frage.",
    "Retracted: the delivered copies were redacted.": "Zurückgezogen: Die zugestellten Exemplare wurden entfernt.",
    "Scheduled, nothing sent yet.": "Geplant, noch nichts gesendet.",
    "Sends an announcement to the lab rooms (in the federal room).":
        "Sendet eine Ankündigung an die Laborräume (im Raum des Bundesteams).",
    "The text is too long: at most {n} characters.": "Der Text ist zu lang: höchstens {n} Zeichen.",
    "There is no announcement #{id}.": "Es gibt keine Ankündigung #{id}.",
    "There is no question #{id}.": "Es gibt keine Frage #{id}.",
    "What is your question?": "Wie lautet Ihre Frage?",
    "What should the announcement say? Write the text after the options.":
        "Was soll die Ankündigung sagen? Schreiben Sie den Text hinter die Optionen.",
    "What should the new text be?": "Wie soll der neue Text lauten?",
    "Which announcement? Give its id, e.g. #3.": "Welche Ankündigung? Geben Sie ihre Nummer an, z. B. #3.",
    "Which question? Give its id, e.g. #7.": "Welche Frage? Geben Sie ihre Nummer an, z. B. #7.",
    "Your question #{id} was forwarded to the federal team. Their answers will appear here as replies to your question.":
        "Ihre Frage #{id} wurde an das Bundesteam weitergeleitet. Die Antworten erscheinen hier als Antwort auf Ihre Frage.",
    "announce --state SN Das Netzwerktreffen ist am Freitag um 14 Uhr.":
        "ankuendigen --land SN Das Netzwerktreffen ist am Freitag um 14 Uhr.",
    "announce [--state SN,BY] [--level kommune] [--labs a,b] [--at <when>] [--dry-run] <text>":
        "ankuendigen [--land SN,BY] [--ebene kommune] [--labore a,b] [--um <Zeitpunkt>] [--probe] <Text>",
    "announce edit 3 Das Treffen beginnt um 15 Uhr.": "ankuendigung aendern 3 Das Treffen beginnt um 15 Uhr.",
    "announce edit <id> <text>": "ankuendigung aendern <Nummer> <Text>",
    "announce retract 3": "ankuendigung zurueckziehen 3",
    "announce retract <id>": "ankuendigung zurueckziehen <Nummer>",
    "announce status 3": "ankuendigung status 3",
    "announce status <id>": "ankuendigung status <Nummer>",
    "announcements": "ankuendigungen",
    "answered 7": "beantwortet 7",
    "answered <id>": "beantwortet <Nummer>",
    "answered": "beantwortet",
    "ask <question>": "frage <Frage>",
    "ask Wie beantragen wir Fördermittel für Workshops?": "frage Wie beantragen wir Fördermittel für Workshops?",
    "being delivered": "wird zugestellt",
    "delivered": "zugestellt",
    "labs (slugs or names), comma-separated": "Labore (Kennungen oder Namen), durch Kommas getrennt",
    "levels, comma-separated: kommune, land, bund": "Ebenen, durch Kommas getrennt: kommune, land, bund",
    "no answer yet": "noch keine Antwort",
    "only list the target rooms": "nur die Zielräume auflisten",
    "questions [open]": "fragen [offen]",
    "retracted": "zurückgezogen",
    "scheduled": "geplant",
    'send later, e.g. "morgen 9:00"': 'später senden, z. B. "morgen 9:00"',
    "{lab}: error {error}": "{lab}: Fehler {error}",
    "{lab}: {sent} delivered, {failed} failed, {pending} pending":
        "{lab}: {sent} zugestellt, {failed} fehlgeschlagen, {pending} ausstehend",
    "{name} ({lab}) on question #{id}:": "{name} ({lab}) zu Frage #{id}:",
    ("{n} answer", "{n} answers"): ("{n} Antwort", "{n} Antworten"),
    ("{n} day", "{n} days"): ("{n} Tag", "{n} Tagen"),
    ("{n} hour", "{n} hours"): ("{n} Stunde", "{n} Stunden"),
    ("{n} minute", "{n} minutes"): ("{n} Minute", "{n} Minuten"),
    ("{n} open question from the labs", "{n} open questions from the labs"):
        ("{n} offene Frage aus den Laboren", "{n} offene Fragen aus den Laboren"),
    "{sent} delivered, {failed} failed, {pending} pending; acknowledged by {acked} of {labs} labs.":
        "{sent} zugestellt, {failed} fehlgeschlagen, {pending} ausstehend; bestätigt von {acked} von {labs} Laboren.",
    "{when} is in the past.": "{when} liegt in der Vergangenheit.",
    "… and more: close answered ones with `{command}`.": "… und weitere: Schließen Sie beantwortete mit `{command}`.",
    "… and {n} more labs.": "… und {n} weitere Labore.",
}
T["Announcement #{id}: no linked lab room matches any more. Nothing was sent."] = (
    "Ankündigung #{id}: Kein verknüpfter Laborraum passt mehr. Nichts wurde gesendet."
)
