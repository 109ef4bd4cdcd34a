"""Use cases between the front ends (cli, web) and the stages. Transactions, authorisation and
auditing live here.

- `imports`: all-or-nothing import of a template, REDCap export or FHIR bundle;
- `records`: the web's form saves and deletes, through the import's rules;
- `export`: template/REDCap/FHIR exports, de-identification, the empty template;
- `admin`: create or migrate a registry, users and log-in, the audit trail;
- `study`: a protocol run and its report, Parquet snapshots;
- `demo`: the synthetic demo registry and the founding study;
- `dose_check`: the import's tocilizumab dose warnings (run on DuckDB).

Each module is imported by the front end that needs it, inside the command or route, so
`jiareg --help` loads none of the stages.
"""
