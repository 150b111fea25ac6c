"""Interoperability (互联互通, X.1): the patient's vascular-access record in the standard
formats other systems read. ``fhir``: FHIR R4 bundles validated by ``fhir.resources``."""
