"""The audience area: contacts, lists and memberships (segments, import and GDPR build on it)."""
