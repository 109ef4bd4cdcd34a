"""A small, valid template folder (two sites, three patients) that tests copy and spoil."""

from __future__ import annotations

from pathlib import Path

GOOD: dict[str, str] = {
    "patients.csv": """\
patient_id,site,sex,birth_date,ilar_category,onset_date
P1,BA,F,2010-03-01,systemic,2014-05-01
P2,BA,M,2012-07-15,poly_rf_neg,
P3,CBA,F,2011-11-30,oligo_extended,2013-01-20
""",
    "visits.csv": """\
patient_id,visit_date,weight_kg,height_cm,phys_global,phys_global_scale,parent_global,\
parent_global_scale,chaq,active_joints,lom_joints,esr,crp,fever,rash,serositis,\
hepatomegaly,splenomegaly,lymphadenopathy,uveitis_active,morning_stiffness_min,esr_uln,crp_uln
P1,2020-01-10,25.5,130,6,0-10,5.5,,1.25,8,4,45,12.5,yes,no,no,yes,no,no,no,30,,
P1,2020-02-10,26,130.5,4.2,0-10,3,0-10,0.875,3,2,20,3,no,no,no,no,no,no,no,,,
P2,2020-01-15,40,150,2,0-3,50,0-100,0.5,5,5,30,,no,no,,,,,no,10,,
P3,2021-03-03,31.25,140,1.5,,2,,0.125,1,0,12,0.4,no,no,no,no,no,no,yes,0,25,5
""",
    "treatments.csv": """\
patient_id,drug,route,start_date,stop_date,stop_reason
P1,etanercept,sc,2018-01-01,2019-12-01,secondary_failure
P1,tocilizumab,iv,2020-01-10,,
P2,adalimumab,sc,2019-02-01,2019-11-30,primary_failure
""",
    "administrations.csv": """\
patient_id,drug,date,dose_mg,weight_kg
P1,tocilizumab,2020-01-10,306,25.5
P1,tocilizumab,2020-01-24,306,25.5
""",
    "steroids.csv": """\
patient_id,drug,daily_dose_mg,start_date,stop_date,route
P1,prednisone,10,2019-06-01,2020-01-31,oral
P1,prednisone,5,2020-02-01,,
""",
    "adverse_events.csv": """\
patient_id,onset_date,term,grade,serious,related_drug,outcome
P1,2020-02-01,infusion reaction,2,no,tocilizumab,resolved
""",
    "joint_exams.csv": """\
patient_id,visit_date,joint,side,swollen,tender,painful_motion,limited_motion
P1,2020-01-10,knee,left,yes,yes,yes,no
P1,2020-01-10,cervical_spine,,no,no,yes,yes
""",
    "chaq_items.csv": """\
patient_id,visit_date,item,score,aid
P1,2020-01-10,dressing_1,2,no
P1,2020-01-10,arising_1,,no
""",
}

ROWS: dict[str, int] = {name[:-4]: text.count("\n") - 1 for name, text in GOOD.items()}


def write_folder(folder: Path, files: dict[str, str] | None = None) -> Path:
    """Write the template files (default: the good sample) into `folder`; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (files or GOOD).items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def spoiled(file: str, old: str, new: str) -> dict[str, str]:
    """The good sample with the first `old` in `file` replaced by `new`."""
    files = dict(GOOD)
    assert old in files[file], (file, old)
    files[file] = files[file].replace(old, new, 1)
    return files
