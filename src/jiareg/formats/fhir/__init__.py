"""FHIR R4: bundles <-> template tables, and the code systems jiareg uses."""
