"""The use-case boundary (issue 11): what every door (Slack, Teams, the CLI, mail) calls.

Each use case takes an :class:`bot.actors.Actor`, authorises in the core, runs in ONE
transaction (``bot.doors.once``) and returns a :class:`bot.usecases.result.Result`.
"""
