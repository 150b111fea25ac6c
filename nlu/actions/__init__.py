"""Custom actions, one module per feature, thin over ``bot`` services.

Run by the action server in the app venv: ``python -m server.actions`` (rasa_sdk over the
container that ``server.bootstrap`` builds).
"""

from . import (  # noqa: F401  (registers the actions)
    account,
    application,
    appointment,
    clinician,
    common,
    complication,
    complication_find,
    complication_lists,
    complication_photos,
    consultation,
    consultation_lists,
    consultation_media,
    follow_up,
    forms,
    handling,
    home,
    maintenance,
    patient,
    removal,
    removal_submit,
    removal_words,
    report,
    scan,
)
