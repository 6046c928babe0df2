"""Inbox sync: read connected mailboxes over IMAP and let replies, out-of-office replies, bounces and
spam complaints stop or pause the sequences they concern.

- `imap.py`: which mailboxes are due, which folders, which messages are new; positions and backoff.
- `classify.py`: what a message is (reply, auto-reply, bounce, spam report, other), from its bytes.
- `ooo.py`: out-of-office signals and the return date in six languages.
- `handle.py`: whom a message concerns, and applying it once through `sequences_app.services.stops`.
"""
