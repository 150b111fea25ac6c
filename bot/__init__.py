"""The core of the vascular access service: models, clinical rules, services, adapters.

Nothing here imports webhooks/, cards/, admin/ or nlu/, and nothing connects to anything
at import time.
"""
