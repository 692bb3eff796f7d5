"""Baton's domain: what MAY happen to an escalation. Pure Python, no I/O, no clock."""
