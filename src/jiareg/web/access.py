"""Who is asking, and what the role lets them see and do (INTERFACE.md, "Roles").

- `admin`: every site, every action.
- `data_manager`: own site; reads, enters data, imports and fixes.
- `clinician`: own site; reads and enters data.
- `researcher`: every site, read-only, de-identified (no exact birth date: birth year and age
  only; a pseudonymous id instead of patient_id when the app is configured so).

A patient outside the viewer's sites is reported exactly like a missing one (404), so the
answer never reveals that the patient exists.

>>> v = Viewer("ana", "clinician", "A")
>>> v.sees_site("A"), v.sees_site("B"), v.may_write, Viewer("r", "researcher", None).deidentified
(True, False, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from jiareg.store.queries import pseudonym
from jiareg.store.users import Action, Role, UserInfo, can

__all__ = ["Viewer", "pseudonym"]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The logged-in user; every permission is the store's `can` (jiareg.store.users)."""

    username: str
    role: Role
    site: str | None

    @classmethod
    def of(cls, user: UserInfo) -> Viewer:
        """The viewer of a store user."""
        return cls(user.username, user.role, user.site)

    @property
    def user(self) -> UserInfo:
        """The store's view of this user."""
        return UserInfo(self.username, self.role, self.site)

    @property
    def all_sites(self) -> bool:
        """Admins and researchers see every site."""
        return self.role in ("admin", "researcher")

    def sees_site(self, site: str) -> bool:
        """True when records of `site` are visible to this user."""
        return can(self.user, "view", site=site)

    def may(self, action: Action, site: str | None) -> bool:
        """`can(user, action, site=site)`."""
        return can(self.user, action, site=site)

    @property
    def may_write(self) -> bool:
        """Enter data at the user's own site (admins: anywhere); researchers never."""
        return can(self.user, "enter", site=self.site)

    @property
    def may_import(self) -> bool:
        """Load files (admins and data managers)."""
        return can(self.user, "import", site=self.site)

    @property
    def may_audit(self) -> bool:
        """Read the audit trail (admins)."""
        return self.role == "admin"

    @property
    def deidentified(self) -> bool:
        """Users who may not see identifiers (researchers) get de-identified records."""
        return not can(self.user, "view_identified", site=self.site)
