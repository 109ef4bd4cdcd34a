"""The patient's visit table shows each follow-up's ACR Pedi level against the baseline of the
biologic course, equal to the scalar rule `jiareg.derive.acr_pedi.acr_pedi_level`."""

from __future__ import annotations

import re
from fractions import Fraction

from tests.web.conftest import Login

from jiareg.derive.acr_pedi import acr_pedi_level
from jiareg.derive.coreset import CoreSet, Global


def _core(pga: int, par: int, chaq: str, ajc: int, lom: int, esr: int) -> CoreSet:
    return CoreSet(
        Global(Fraction(pga)), Global(Fraction(par)), Fraction(chaq), ajc, lom, Fraction(esr)
    )


def _acr_cells(html: str) -> dict[str, str]:
    """Visit date -> text of the ACR Pedi cell, from the visits table."""
    table = html.split('id="visits"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    cells = {}
    for row in rows:
        date = re.search(r"\d{4}-\d{2}-\d{2}", row)
        acr = re.search(r'<td class="num acr">(.*?)</td>', row, re.S)
        if date and acr:
            cells[date.group()] = re.sub(r"<[^>]+>", "", acr.group(1)).strip()
    return cells


def test_visit_table_shows_the_scalar_rules_level(login: Login) -> None:
    # tests/web/site_data: A-001's tocilizumab course, first dose 2019-07-01
    baseline = _core(6, 5, "1.5", 8, 6, 60)  # 2019-06-25
    expected = {
        "2019-07-27": acr_pedi_level(baseline, _core(3, 3, "1", 3, 4, 20)),
        "2019-09-01": acr_pedi_level(baseline, _core(1, 1, "0.5", 1, 2, 12)),
    }
    assert expected == {"2019-07-27": 50, "2019-09-01": 70}
    cells = _acr_cells(login("clin_a").get("/patients/A-001").text)
    for day, level in expected.items():
        assert cells[day] == f"{level} vs 2019-06-25"
    # on 2019-06-25 the current course is etanercept (2018), with no visit near its start
    assert cells["2019-06-25"] == "— no baseline visit in the 30 days before"


def test_visit_without_a_course_says_why(login: Login) -> None:
    cells = _acr_cells(login("clin_a").get("/patients/A-002").text)
    assert cells == {"2019-05-02": "— no biologic course started by this date"}
