T = {
    "Open questions to the federal team": "Offene Fragen an das Bundesteam",
    "#{id}, asked {age} ago: {text}": "#{id}, gestellt vor {age}: {text}",
}
