"""Health education (P7.1, A4.1): articles written, reviewed and published by the hospital's
staff (``lifecycle``), found for a patient's question by ranked retrieval (``retrieval``), sent
by themselves for the stage of a patient's device (``pushes``), and read on H5 (``reading``), with
the images inserted into them (``images``)."""

from __future__ import annotations

from . import images
from .lifecycle import (
    STAGE_LABELS,
    STATUS_LABELS,
    Draft,
    LifecycleRefused,
    create,
    publish,
    restore,
    save,
    submit,
    unpublish,
    versions,
)
from .reading import count_read, published, published_list
from .retrieval import Match, search

__all__ = [
    "STAGE_LABELS",
    "STATUS_LABELS",
    "Draft",
    "LifecycleRefused",
    "Match",
    "count_read",
    "create",
    "images",
    "publish",
    "published",
    "published_list",
    "restore",
    "save",
    "search",
    "submit",
    "unpublish",
    "versions",
]
