"""The pages recipients reach from a mail or a web site: subscribe forms, the double opt-in
confirmation, one-click unsubscribe and the preferences page."""
