"""The people's service: pages for practitioners, managers and the partnership, GOV.UK style.

Server-rendered (Jinja2 with the GOV.UK Frontend macros of govuk-frontend-jinja); every journey
works without JavaScript. People are the directory's contacts with an email; they sign in with a
one-time link. The pages act through casework, so the same rules hold as for the API's keys.
"""
