"""What a request names does not exist: every such error is a NotFound, and the web app answers each
with 404 and its message from one handler (bots/web/app.py), so routes need no try/except for it."""


class NotFound(LookupError):
    pass
