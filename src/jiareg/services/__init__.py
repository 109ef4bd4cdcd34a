"""Use cases between the front ends (cli, web) and the stages: import, record saves, export
and de-identification, demo. Transactions, authorisation and auditing live here.

Each module is imported by the front end that needs it (`jiareg.services.imports`, ...), so
`jiareg --help` loads none of the stages.
"""
