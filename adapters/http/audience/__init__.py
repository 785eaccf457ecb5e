"""HTTP controllers of the audience area: contacts, lists and their members."""
