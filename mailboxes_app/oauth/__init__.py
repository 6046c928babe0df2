"""Mailboxes connected by OAuth 2.0: Google Workspace / Gmail and Microsoft 365.

- `providers.py`: each provider's endpoints, scopes, mail servers and limits (from settings), and an
  Authlib client for it.
- `connect.py`: the authorization-code flow with PKCE: start it, take the callback, create or
  reconnect the mailbox.
- `tokens.py`: a valid access token for a mailbox (refreshed under its row lock), XOAUTH2 strings,
  and what an `invalid_grant` does (the mailbox is disconnected, its owner told once).
"""
