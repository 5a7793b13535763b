"""Rankion inside other apps: the sync facade and the example host apps."""
