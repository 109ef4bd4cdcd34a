"""The dashboard's trends by calendar quarter on the test registry (tests/web/site_data):
visits per cJADAS10 state and patients per biologic class, per site, with small cells
suppressed for researchers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from tests.web.conftest import Login

SVG = "{http://www.w3.org/2000/svg}"


def _table(html: str, table_id: str) -> dict[str, dict[str, str]]:
    """Quarter -> column header -> cell text of a dashboard table."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    heads = re.findall(r'<th scope="col"[^>]*>(.*?)</th>', body)[1:]
    out = {}
    for quarter, cells in re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', body, re.S):
        values = [c.replace("&lt;", "<") for c in re.findall(r"<td[^>]*>(.*?)</td>", cells)]
        out[quarter] = dict(zip(heads, values, strict=True))
    return out


def _nonzero(table: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {q: {k: v for k, v in row.items() if v != "0"} for q, row in table.items()}


def test_admin_sees_every_site_by_quarter(login: Login) -> None:
    html = login("admin").get("/dashboard").text
    # visits: B-001 2019-04-10, A-002 2019-05-02, A-001 2019-06-25 | 2019-07-27, 2019-09-01
    states = _nonzero(_table(html, "states-by-quarter"))
    assert {q: sum(map(int, row.values())) for q, row in states.items()} == {
        "2019 Q2": 3,
        "2019 Q3": 2,
    }
    biologics = _nonzero(_table(html, "biologics-by-quarter"))
    # etanercept 2018-01..2019-06, adalimumab (B-001) from 2018-09, tocilizumab
    # from 2019-07; the last recorded date is 2019-09-01
    assert biologics["2018 Q1"] == {"anti tnf": "1"}
    assert biologics["2018 Q3"] == biologics["2019 Q2"] == {"anti tnf": "2"}
    assert biologics["2019 Q3"] == {"anti tnf": "1", "il6": "1"}
    assert list(biologics)[-1] == "2019 Q3"
    for svg_id in ("states-chart", "biologic-chart"):
        svg = re.search(rf'<svg[^>]*id="{svg_id}".*?</svg>', html, re.S)
        assert svg is not None
        root = ET.fromstring(svg.group())
        assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    site_b = _nonzero(_table(login("admin").get("/dashboard?site=B").text, "states-by-quarter"))
    assert {q: sum(map(int, r.values())) for q, r in site_b.items()} == {"2019 Q2": 1}


def test_clinician_sees_their_own_site_only(login: Login) -> None:
    client = login("clin_a")
    html = client.get("/dashboard").text
    assert '<select id="site"' not in html
    states = _nonzero(_table(html, "states-by-quarter"))
    assert {q: sum(map(int, row.values())) for q, row in states.items()} == {
        "2019 Q2": 2,
        "2019 Q3": 2,
    }
    biologics = _nonzero(_table(html, "biologics-by-quarter"))
    assert biologics["2018 Q3"] == {"anti tnf": "1"}
    assert biologics["2019 Q3"] == {"il6": "1"}
    assert client.get("/dashboard?site=B").status_code == 403


def test_researcher_counts_under_five_are_suppressed(login: Login) -> None:
    html = login("res").get("/dashboard").text
    assert '<select id="site"' in html
    values = {
        v
        for table in ("states-by-quarter", "biologics-by-quarter")
        for row in _table(html, table).values()
        for v in row.values()
    }
    assert values == {"0", "<5"}  # every count in the test registry is under 5
    assert re.search(r'id="kpi-patients">&lt;5<', html)
    chart = re.search(r'<svg[^>]*id="states-chart".*?</svg>', html, re.S)
    assert chart is not None and "</rect>" not in chart.group()  # no bar is drawn
