"""The Slack bot: a bolt app whose listeners turn Slack events and commands into jobs."""
