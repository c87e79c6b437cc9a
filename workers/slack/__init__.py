"""Posting to Slack from the io queue: job results, alerts, handoff notices and reports."""
