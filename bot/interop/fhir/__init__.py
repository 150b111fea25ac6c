"""A patient's vascular-access record as a FHIR R4 Bundle (X.1), built from the database and
the clinical dictionary and validated by the ``fhir.resources`` R4B models before it leaves.

Bundle type ``collection`` (a set of resources, no attested Composition). Entries have
deterministic ``urn:uuid:`` full URLs (uuid5 of the installation's base URL, the kind and the
row id), so two exports of the same record name the same resources. Identifiers of the patient
are never in clear: ``hash`` gives keyed HMAC-SHA256 values (stable per person, not reversible
without the hospital's key), ``mask`` the masked forms the screens show.
"""

from .bundle import FhirInvalid, Options, patient_bundle
from .codes import IDENTIFIER_MODES, IMPLANTATION, REMOVAL

__all__ = [
    "IDENTIFIER_MODES",
    "IMPLANTATION",
    "REMOVAL",
    "FhirInvalid",
    "Options",
    "patient_bundle",
]
