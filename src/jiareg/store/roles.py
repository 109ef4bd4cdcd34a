"""The vocabulary of access control: roles (INTERFACE.md) and the actions `can` decides.

Kept apart from `jiareg.store.users` (which needs SQLAlchemy and argon2) so that the command
line can offer the roles as choices without loading the store.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = ["ACTIONS", "ROLES", "Action", "Role"]

Role = Literal["admin", "data_manager", "clinician", "researcher"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
Action = Literal[
    "view",
    "view_identified",
    "enter",
    "import",
    "fix",
    "export",
    "export_identified",
    "manage_users",
]
"""view: see records (de-identified for researchers); view_identified: see identifiers;
enter: add or change one record; import: bulk import; fix: change or delete existing
records in bulk; export / export_identified: export de-identified / with identifiers;
manage_users: add users."""
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)
