"""The block layouts the Slack tests expect of a posted reply, by where it is posted."""

# In a thread: the answer, its provenance, the votes (feedback buttons), then the related articles
# (docs/recommendations.md).
REPLY_IN_THREAD = ["section", "context", "context_actions", "context", "actions"]
# At a slash command's response URL the votes are plain buttons.
REPLY_AT_RESPONSE_URL = ["section", "context", "actions", "context", "actions"]
