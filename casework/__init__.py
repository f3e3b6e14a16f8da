"""Casework: raising escalations, acting on them and finding them, for the API and the pages.

The case lives in the database, the ladder in Temporal; both doors (JSON for agencies' systems,
pages for people) go through here, so the same rules and answers hold for both.
"""
