"""Baton's audit side: what DID happen. The ledger, its verifier and its read models."""
