"""Exports (A6.2): any table of the dashboard, and the raw records of a period (placements,
maintenance, complications, removals, reminders), as XLSX or CSV, identifiers masked unless an
administrator allowed to see them in full states why; every export kept in the export log
(who, when, what, filters, rows, the file's hash) and audited.

``start_export`` checks and queues (starting.py); ``run`` writes the file (running.py), as the
``bot.jobs.exports.run_export`` job; records.py says what each kind of record holds (a masked
export without the free text); retention.py deletes the files with identifiers in full once
their keeping period is over."""

from .records import FREE_TEXT_LEFT_OUT, KINDS, period_words
from .retention import EXPIRED, deleted_after, expire_identified, expired
from .running import (
    JOB_TIMEOUT,
    claimable,
    download_name,
    error_words,
    file_path,
    requeueable,
    run,
    sha256,
    stored_file,
)
from .starting import (
    MIN_REASON,
    TABLE_PREFIX,
    TABLES,
    ExportRefused,
    count_rows,
    job_id,
    kind_label,
    kinds,
    may_see_identifiers,
    start_export,
)
from .writers import FORMATS

__all__ = [
    "EXPIRED",
    "FORMATS",
    "FREE_TEXT_LEFT_OUT",
    "JOB_TIMEOUT",
    "KINDS",
    "MIN_REASON",
    "TABLES",
    "TABLE_PREFIX",
    "ExportRefused",
    "claimable",
    "count_rows",
    "deleted_after",
    "download_name",
    "error_words",
    "expire_identified",
    "expired",
    "file_path",
    "job_id",
    "kind_label",
    "kinds",
    "may_see_identifiers",
    "period_words",
    "requeueable",
    "run",
    "sha256",
    "start_export",
    "stored_file",
]
