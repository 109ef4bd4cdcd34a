"""The permission function `can`: every role × action × site combination that matters."""

from __future__ import annotations

import pytest

from jiareg.errors import AccessDenied
from jiareg.store.users import ACTIONS, UserInfo, can, require

ADMIN = UserInfo("ada", "admin", None)
MANAGER = UserInfo("max", "data_manager", "BA")
CLINICIAN = UserInfo("cleo", "clinician", "BA")
RESEARCHER = UserInfo("rui", "researcher", None)

SITE_MANAGER = {"view", "view_identified", "enter", "import", "fix", "export", "export_identified"}
SITE_CLINICIAN = {"view", "view_identified", "enter"}
RESEARCH = {"view", "export"}


@pytest.mark.parametrize("action", ACTIONS)
def test_admin_may_do_everything_everywhere(action: str) -> None:
    assert can(ADMIN, action, site="BA") and can(ADMIN, action, site=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(
    ("user", "allowed"), [(MANAGER, SITE_MANAGER), (CLINICIAN, SITE_CLINICIAN)]
)
def test_site_roles_only_at_their_own_site(user: UserInfo, allowed: set[str], action: str) -> None:
    assert can(user, action, site="BA") == (action in allowed)  # type: ignore[arg-type]
    assert not can(user, action, site="CBA")  # type: ignore[arg-type]
    assert not can(user, action, site=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", ACTIONS)
def test_researcher_reads_everywhere_deidentified_and_never_writes(action: str) -> None:
    for site in ("BA", "CBA", None):
        assert can(RESEARCHER, action, site=site) == (action in RESEARCH)  # type: ignore[arg-type]


def test_require_says_who_what_and_where() -> None:
    with pytest.raises(
        AccessDenied, match=r"user 'cleo' \(clinician\) may not import at site 'BA'"
    ):
        require(CLINICIAN, "import", site="BA")
