"""`jiareg calc acr-pedi` on a 1,000,000-row file, end to end (read, check, score, write).

Three contenders on the same seeded input, each in its own subprocess so that each peak RSS
(process tree, sampled) and each time covers a whole run, interpreter start included:

- the real command, `jiareg calc acr-pedi IN.csv -o OUT.csv` (validates every cell first);
- a hand-vectorised NumPy + pyarrow script: read typed, score on int64 units, write (the limit;
  no validation);
- pandas row-wise `apply` of the exact scalar rule (`acr_pedi_level`), what a user would
  write, on a 10,000-row sample, extrapolated.

The NumPy and CLI levels are compared row by row, so the baseline is known to be right.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from bench._data import row
from bench._tree_rss import PeakRss
from jiareg.derive.acr_pedi import ACR_PEDI_LEVELS
from jiareg.derive.exact import UNITS
from jiareg.vocab import CORE_SET_VARIABLES

SEED = 20111
SIZES = {True: 100_000, False: 1_000_000}
PANDAS_SAMPLE = 10_000
COLUMNS = [f"{v}_{w}" for v in CORE_SET_VARIABLES for w in ("baseline", "followup")]


def generate(path: Path, n: int, seed: int = SEED) -> None:
    """A seeded acr-pedi input: globals in 0.1 steps, CHAQ in 1/8, ESR with 1 decimal, 5 % NA."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {"id": pa.array([f"p{i}" for i in range(n)])}
    for var in CORE_SET_VARIABLES:
        base = {
            "phys_global": lambda size: rng.integers(0, 101, size) / 10,
            "parent_global": lambda size: rng.integers(0, 101, size) / 10,
            "chaq": lambda size: rng.integers(0, 25, size) / 8,
            "active_joints": lambda size: rng.integers(0, 30, size).astype(float),
            "lom_joints": lambda size: rng.integers(0, 30, size).astype(float),
            "esr": lambda size: rng.integers(0, 1200, size) / 10,
        }[var]
        for when in ("baseline", "followup"):
            values = base(n)
            mask = rng.random(n) < 0.05
            text = pa.array(values).cast(pa.string())
            data[f"{var}_{when}"] = pa.array(
                np.where(mask, "", text.to_numpy(zero_copy_only=False)).astype(str)
            )
    pacsv.write_csv(pa.table(data), path)


def numpy_score(src: str, dst: str) -> None:
    """The hand-vectorised baseline: read typed with pyarrow, score in NumPy, write with pyarrow."""
    table = pacsv.read_csv(src, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    pairs = []
    for var in CORE_SET_VARIABLES:
        b, f = (table[f"{var}_{w}"].to_numpy().astype(np.float64) for w in ("baseline", "followup"))
        missing = np.isnan(b) | np.isnan(f)
        bu = np.rint(np.nan_to_num(b) * UNITS).astype(np.int64)
        fu = np.rint(np.nan_to_num(f) * UNITS).astype(np.int64)
        pairs.append((bu, fu, missing))
    n_miss = sum(m.astype(np.int8) for _, _, m in pairs)
    n_wor = sum(
        (~m & (((b > 0) & (f * 100 > 130 * b)) | ((b == 0) & (f > 0)))).astype(np.int8)
        for b, f, m in pairs
    )
    level = np.full(table.num_rows, -1, dtype=np.int64)
    out = {}
    for x in ACR_PEDI_LEVELS:
        n_imp = sum(
            (~m & (b > 0) & (f * 100 <= (100 - x) * b)).astype(np.int8) for b, f, m in pairs
        )
        responder = (n_imp >= 3) & (n_wor + n_miss <= 1)
        nonresponder = ~((n_imp + n_miss >= 3) & (n_wor <= 1))
        out[f"acr_pedi_{x}"] = pa.array(
            np.where(responder, True, False), mask=~(responder | nonresponder)
        )
        if x == ACR_PEDI_LEVELS[0]:
            level[nonresponder] = 0
        level[responder] = x
    out["acr_pedi_level"] = pa.array(level, mask=level < 0)
    for name, column in out.items():
        table = table.append_column(name, column)
    pacsv.write_csv(table, dst)


def _timed(command: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB, process tree) of one subprocess run."""
    with PeakRss() as rss:
        start = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - start
    return seconds, rss.peak_mb


def _pandas_apply(src: Path, n_sample: int) -> tuple[float, float]:
    script = (
        "import sys, time, pandas as pd\n"
        "from jiareg.derive.acr_pedi import acr_pedi_level\n"
        "from jiareg.derive.coreset import CoreSet, Global\n"
        "from jiareg.derive.exact import to_fraction\n"
        "def visit(r, w):\n"
        "    v = lambda n: None if pd.isna(r[f'{n}_{w}']) else r[f'{n}_{w}']\n"
        "    g = lambda n: None if v(n) is None else Global(to_fraction(v(n)))\n"
        "    c = lambda n: None if v(n) is None else int(v(n))\n"
        "    return CoreSet(g('phys_global'), g('parent_global'), to_fraction(v('chaq')),\n"
        "                   c('active_joints'), c('lom_joints'), to_fraction(v('esr')))\n"
        "df = pd.read_csv(sys.argv[1], nrows=int(sys.argv[2]))\n"
        "df['acr_pedi_level'] = df.apply(lambda r: acr_pedi_level(visit(r, 'baseline'),\n"
        "                                 visit(r, 'followup')), axis=1)\n"
        "df.to_csv(sys.argv[3], index=False)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        return _timed([sys.executable, "-c", script, str(src), str(n_sample), f"{tmp}/p.csv"])


def run(quick: bool) -> list[dict[str, Any]]:
    """Time the CLI, the NumPy baseline and pandas apply on the seeded input."""
    n = SIZES[quick]
    jiareg = str(Path(sys.executable).parent / "jiareg")
    with tempfile.TemporaryDirectory() as tmp:
        src, cli_out, np_out = Path(tmp) / "in.csv", Path(tmp) / "cli.csv", Path(tmp) / "np.csv"
        generate(src, n)
        numpy_s, numpy_mb = _timed(
            [
                sys.executable,
                "-c",
                "from bench.bench_calc import numpy_score; "
                f"numpy_score({str(src)!r}, {str(np_out)!r})",
            ]
        )
        cli_s, cli_mb = _timed([jiareg, "calc", "acr-pedi", str(src), "-o", str(cli_out)])
        read = pacsv.ConvertOptions(
            column_types={"acr_pedi_level": pa.int64()}, include_columns=["acr_pedi_level"]
        )
        same = pacsv.read_csv(cli_out, convert_options=read).equals(
            pacsv.read_csv(np_out, convert_options=read)
        )
        sample = min(PANDAS_SAMPLE, n)
        pandas_s, pandas_mb = _pandas_apply(src, sample)
    return [
        row("calc acr-pedi: numpy + pyarrow (hand-vectorised)", n, numpy_s, numpy_mb),
        row(
            "calc acr-pedi: jiareg CLI (end to end)",
            n,
            cli_s,
            cli_mb,
            "numpy",
            numpy_s,
            agrees_with_numpy=same,
        ),
        row(
            f"calc acr-pedi: pandas apply (×{n // sample} from {sample:,} rows)",
            n,
            pandas_s * n / sample,
            pandas_mb,
            "numpy",
            numpy_s,
        ),
    ]
