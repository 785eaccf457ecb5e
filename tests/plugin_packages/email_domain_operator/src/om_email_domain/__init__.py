"""A segment operator from outside OpenMailer: `email_domain`."""
