"""Plain street CSVs read together (sources/policeuk_group.py) give the ordinary readers' records, and any file
holding a row the readers quarantine is read by them instead, with their reasons."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import crimeassess.ingest as ingest_mod
from crimeassess.ingest import ingest
from crimeassess.sources.policeuk import read_street_csv
from crimeassess.sources.policeuk_group import Part, eligible, read_street_group
from crimeassess.store import Store, check_store
from policeuk_fixtures import FORCE, HEADER, row, street_csv


def plain(t):
    """The group's records as RECORD_SCHEMA: the same values, with no column dictionary-encoded."""
    from crimeassess.schema import RECORD_SCHEMA

    return t.cast(RECORD_SCHEMA)


def _good(k: int, n: int = 40, crlf: bool = False) -> bytes:
    rows = []
    for i in range(n):
        m = f"2019-{i % 12 + 1:02d}"
        if i % 7 == 3:
            rows.append(row("", m, "Anti-social behaviour", outcome=""))
        elif i % 11 == 5:
            rows.append(row(f"f{k}-{i}", m, "burglary", lon="", lat="", lsoa=""))  # no location, type in lower case
        else:
            rows.append(row(f"f{k}-{i}", m, "Vehicle crime", lon=f"-1.{i:03d}", lat=f"5{i % 9}.5",
                            context="some context" if i % 5 == 0 else ""))
    return street_csv(rows, crlf=crlf)


def test_eligible_only_plain_files() -> None:
    good = _good(0)
    assert eligible(good) and eligible(_good(0, crlf=True)) and eligible(good.rstrip(b"\n"))
    h = HEADER.encode() + b"\n"
    r = row("a", "2019-01", "Drugs").encode()
    for bad in (
        street_csv([row("a", "2019-01", "Drugs")], bom=True),       # a BOM
        h + r + b"\n" + r.replace(b"Drugs", b"Drugs\t"),             # a tab
        h + r.replace(b"High Street", b'"High, Street"'),            # quotes
        h + r.replace(b"High", "Hígh".encode()),                      # not ASCII
        h + r + b"\rX",                                               # a lone CR
        h,                                                            # no rows
        h.replace(b"Context", b"Context ") + r,                       # another header
    ):
        assert not eligible(bad)
    # row by row, in the group's SQL: the file goes to the ordinary reader
    for bad in (
        h + r + b"\n" + r.replace(b"High", b"H" * 140_000),          # a field over the csv module's limit
        h + r.replace(b",Drugs", b", Drugs"),                         # a field starting with a space
        h + r.replace(b"Drugs,", b"Drugs ,"),                         # ... or ending with one
        h + b" " + r,                                                 # ... at the start of a line
        h + r + b" ",                                                 # ... at the end of the file
        (h + r + b" \n" + r).replace(b"\n", b"\r\n"),                # ... before a CRLF
        h + r + b"\n\n" + r,                                         # a blank line
        (h + r + b"\n\n" + r).replace(b"\n", b"\r\n"),               # ... in a CRLF file
        h + r + b"\n\n",                                            # ... at the end
    ):
        assert eligible(bad)
        got = read_street_group([Part(good, "a", "a.csv"), Part(bad, "b", "b.csv")])
        assert got[0] is not None and got[1] is None


@pytest.mark.parametrize("crlf", [False, True])
def test_group_equals_ordinary_reader(crlf: bool) -> None:
    datas = [_good(k, n=30 + k, crlf=crlf) for k in range(5)]
    got = read_street_group([Part(d, f"id{k}", f"f{k}.csv") for k, d in enumerate(datas)])
    for k, (d, g) in enumerate(zip(datas, got)):
        assert g is not None
        res, pairs = g
        want = read_street_csv(d, input_id=f"id{k}", display_name=f"f{k}.csv")
        assert plain(res.records).equals(want.records)
        assert (res.months, res.force, res.force_name, res.rows_read) == (want.months, want.force, want.force_name,
                                                                          want.rows_read)
        assert pairs == {("testshire", f"2019-{m:02d}") for m in range(1, 13)}
        # rows recounted with the csv module: every data row loaded, each with its own line number
        n = len(list(csv.reader(io.StringIO(d.decode())))) - 1
        assert res.records.num_rows == n
        assert res.records.column("line").to_pylist() == list(range(2, n + 2))


def _sorted(t):
    from crimeassess.aggregate import AGG_SCHEMA

    return t.select(AGG_SCHEMA.names).cast(AGG_SCHEMA).sort_by([(c, "ascending") for c in AGG_SCHEMA.names])


def test_group_counts_are_the_aggregate_of_its_records() -> None:
    """The counts the group reader gives each file are what aggregating its records gives (aggregate.AGG_SQL):
    ASB, missing points and LSOAs, a type in lower case, a blank force name."""
    import duckdb

    from crimeassess.aggregate import aggregate_tables

    blank_force = _good(9).replace(f",{FORCE},{FORCE},".encode(), b",,,", 5)
    datas = [_good(k, n=30 + k) for k in range(4)] + [blank_force]
    got = read_street_group([Part(d, f"id{k}", f"f{k}.csv") for k, d in enumerate(datas)])
    con = duckdb.connect()
    try:
        for g in got:
            assert g is not None and g[0].counts is not None
            assert _sorted(g[0].counts).equals(_sorted(aggregate_tables(con, [g[0].records])))
            assert sum(g[0].counts.column("n").to_pylist()) == g[0].records.num_rows
    finally:
        con.close()
    assert None in got[4][0].counts.column("force").to_pylist()


def test_a_shared_buffer_leaves_earlier_records_intact() -> None:
    """Successive groups of one ingest share a buffer (GroupContext): the next group overwrites it, and the
    records already read (still waiting for their commit) must not change."""
    from crimeassess.sources.policeuk_group import GroupContext

    ctx = GroupContext()
    try:
        first = [_good(k, n=200) for k in range(3)]
        a = read_street_group([Part(d, f"a{k}", f"a{k}.csv") for k, d in enumerate(first)], context=ctx)
        kept = [g[0].records.to_pylist() for g in a]
        b = read_street_group([Part(_good(k + 5, n=300), f"b{k}", f"b{k}.csv") for k in range(3)], context=ctx)
        assert all(g is not None for g in b)
        assert [g[0].records.to_pylist() for g in a] == kept
        alone = read_street_group([Part(d, f"a{k}", f"a{k}.csv") for k, d in enumerate(first)])
        assert all(x[0].records.equals(y[0].records) for x, y in zip(a, alone))
    finally:
        ctx.close()


@pytest.mark.parametrize("bad_row", [
    row("x", "2019-13", "Drugs"),                  # invalid month
    row("x", "2999-01", "Drugs"),                  # month in the future
    row("x", "2019-01", "Nonsense"),               # unknown crime type
    row("x", "2019-01", "Drugs", lon="1e", lat="50"),    # invalid coordinates
    row("x", "2019-01", "Drugs", lon="nan", lat="50"),   # numbers to Arrow, not to the readers
    row("x", "2019-01", "Drugs", lon="-1.4", lat="inf"),
    row("x", "2019-01", "Drugs", lon="-Infinity", lat="50"),
    row("x", "2019-01", "Drugs", lon="", lat="50"),      # one coordinate
    row("x", "2019-01", "Drugs", lon="20.0", lat="50"),  # outside the UK
    row("f1-1", "2019-01", "Drugs"),               # a Crime ID repeated in the file
])
def test_a_file_with_a_quarantined_row_goes_to_the_ordinary_reader(bad_row: str) -> None:
    good = [_good(0), _good(2)]
    bad = _good(1)[:-1] + b"\n" + bad_row.encode() + b"\n"
    assert eligible(bad)
    got = read_street_group([Part(good[0], "a", "a.csv"), Part(bad, "b", "b.csv"), Part(good[1], "c", "c.csv")])
    assert got[0] is not None and got[1] is None and got[2] is not None
    assert plain(got[2][0].records).equals(read_street_csv(good[1], input_id="c", display_name="c.csv").records)


def test_coordinates_in_every_form_the_readers_accept() -> None:
    """Signs, exponents, a bare point: the group (Arrow's cast) reads what the ordinary reader (its pattern)
    reads, with the same values."""
    forms = [("+0.5", "5.1e1"), ("-.5", "50."), ("-1", "5E+1"), ("-0", "050.25"), ("-1.40000000000000001", "50.9")]
    data = street_csv([row(f"p{i}", "2019-03", "Drugs", lon=x, lat=y) for i, (x, y) in enumerate(forms)])
    got = read_street_group([Part(data, "p", "p.csv"), Part(_good(1), "g", "g.csv")])
    assert got[0] is not None
    want = read_street_csv(data, input_id="p", display_name="p.csv").records
    assert plain(got[0][0].records).equals(want)
    assert got[0][0].records.column("latitude").to_pylist() == [51.0, 50.0, 50.0, 50.25, 50.9]


def test_wrong_number_of_fields_sends_the_group_to_the_ordinary_reader() -> None:
    bad = _good(1) + row("x", "2019-01", "Drugs").rsplit(",", 2)[0].encode() + b"\n"
    assert eligible(bad)
    assert read_street_group([Part(_good(0), "a", "a.csv"), Part(bad, "b", "b.csv")]) == [None, None]


def _folder(tmp: Path) -> Path:
    root = tmp / "archive"
    for k in range(6):
        d = root / f"2019-{k + 1:02d}"
        d.mkdir(parents=True)
        data = _good(k, n=25 + k)
        if k == 2:  # one quarantined row of each kind in a plain file, and a file that is not plain
            data += "\n".join([row("q1", "2019-13", "Drugs"), row("q2", "2019-01", "Nonsense"),
                               row("f2-1", "2019-01", "Drugs")]).encode() + b"\n"
        if k == 4:
            data = data.replace(b"On or near High Street", b'"On or near High Street"')
        (d / f"2019-{k + 1:02d}-testshire-street.csv").write_bytes(data)
    return root


def _state(st: Store) -> tuple:
    con = st.connect()
    try:
        files = sorted({str(st.input_path(e)) for e in st.inputs()})
        recs = con.execute("SELECT * FROM read_parquet(?) ORDER BY uid", [files]).fetchall()  # live or not
        quar = con.execute("SELECT input_id, file, line, reason, raw FROM quarantine ORDER BY file, line").fetchall()
    finally:
        con.close()
    keep = ("input_id", "path", "sha256", "force", "force_name", "months", "rows_read", "rows_loaded",
            "rows_quarantined", "slices", "live_slices", "seq")
    return recs, quar, [{k: e[k] for k in keep} for e in st.inputs()]


def test_ingest_together_equals_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _folder(tmp_path)
    together = Store(tmp_path / "together")
    rep = ingest([root], together)
    assert [i.status for i in rep.inputs] == ["loaded"] * 6
    assert check_store(together).ok
    monkeypatch.setattr(ingest_mod, "plain_lines", lambda data: None)  # every file to the ordinary readers
    monkeypatch.setattr(ingest_mod, "read_street_group", lambda *a, **k: pytest.fail("read together"))
    alone = Store(tmp_path / "alone")
    ingest([root], alone)
    a, b = _state(together), _state(alone)
    assert a[2] == b[2]
    assert a[1] == b[1]
    assert a[0] == b[0]
    # recounted with the csv module: rows read = loaded + quarantined, three quarantined rows in file 3
    rows = sum(len(list(csv.reader(io.StringIO(f.read_text())))) - 1 for f in root.rglob("*.csv"))
    assert sum(i.rows_read for i in rep.inputs) == rows
    assert sum(i.rows_loaded for i in rep.inputs) == len(a[0]) == rows - 3
    assert [i.rows_quarantined for i in rep.inputs] == [0, 0, 3, 0, 0, 0]
    assert sorted(q[3].split(" ")[0] for q in a[1]) == ["duplicate", "invalid", "unknown"]
    assert {e["force_name"] for e in together.inputs()} == {FORCE}
    assert [i.status for i in ingest([root], together).inputs] == ["unchanged"] * 6  # idempotent
    # the aggregates written from the batches in memory are what building them from the records files gives
    from crimeassess.aggregate import missing, read_state, refresh_aggregates

    assert not missing(together)

    def aggs() -> dict:
        return {k: _sorted(pq.read_table(together.path / v)) for k, v in read_state(together)["files"].items()}

    in_memory = aggs()
    assert refresh_aggregates(together).built == []  # nothing left to build after the ingest
    refresh_aggregates(together, rebuild=True)
    assert in_memory.keys() == aggs().keys() and all(in_memory[k].equals(v) for k, v in aggs().items())


def test_small_groups_commit_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups of one file each: a republished month still supersedes the earlier file."""
    root = tmp_path / "in"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    old = _good(0, n=12)
    new = _good(0, n=13)
    (root / "a" / "2019-01-testshire-street.csv").write_bytes(old)
    (root / "b" / "2019-01-testshire-street.csv").write_bytes(new)
    monkeypatch.setattr(ingest_mod, "GROUP_SHARE", 1 << 40)
    monkeypatch.setattr(ingest_mod, "GROUP_MIN_BYTES", 1)
    calls = []
    real = ingest_mod.read_street_group
    monkeypatch.setattr(ingest_mod, "read_street_group", lambda parts, **kw: calls.append(len(parts)) or real(parts, **kw))
    st = Store(tmp_path / "s")
    rep = ingest([root], st)
    assert [i.status for i in rep.inputs] == ["loaded", "loaded"] and calls == [1, 1]
    a, b = st.inputs()
    assert a["path"].endswith("a/2019-01-testshire-street.csv") and a["live_slices"] == []
    assert len(b["live_slices"]) == 12
    con = st.connect()
    try:
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] == 13
    finally:
        con.close()


@pytest.mark.parametrize("col", range(12))
@pytest.mark.parametrize("where", ["start", "end"])
def test_a_space_at_a_fields_end_gives_the_ordinary_readers_result(col: int, where: str) -> None:
    """Whichever column has the space (some are tested by the SQL's `spaced`, some by their own checks, one is
    never stored), the group's answer is the ordinary reader's: the same records, or the file left to it."""
    good = _good(0)
    lines = good.decode().split("\n")
    fields = lines[3].split(",")
    fields[col] = (" " + fields[col]) if where == "start" else (fields[col] + " ")
    lines[3] = ",".join(fields)
    data = "\n".join(lines).encode()
    assert eligible(data)
    got = read_street_group([Part(good, "a", "a.csv"), Part(data, "b", "b.csv")])
    assert got[0] is not None
    if got[1] is not None:
        want = read_street_csv(data, input_id="b", display_name="b.csv")
        assert not want.quarantine and plain(got[1][0].records).equals(want.records)
    else:
        assert col != 2  # "Reported by" is never stored: a space there changes nothing


def test_files_read_ahead_arrive_in_order_with_their_errors(tmp_path: Path) -> None:
    """The ingest's read-ahead thread (ingest._Prefetch): each plain file's bytes, SHA-256 and group
    eligibility (its data lines); a file that cannot be read raises its InputError when the loop takes it, not before; zip
    members and large files are left to the loop; never more than the budget ahead (one file at least)."""
    import hashlib

    from crimeassess.errors import InputError
    from crimeassess.sources.discover import Candidate

    loads: list[int] = []

    def loader(k: int, data: bytes):
        def load() -> bytes:
            loads.append(k)
            if k == 2:
                raise InputError(f"f{k}.csv: unreadable (test)")
            return data
        return load

    datas = [_good(k) for k in range(5)]
    datas[3] = datas[3].replace(b"High Street", b'"High Street"')  # not plain: not for the group reader
    cands = []
    for k, d in enumerate(datas):
        p = tmp_path / f"f{k}.csv"
        p.write_bytes(d)
        cands.append(Candidate(f"f{k}.csv", loader(k, d), explicit=False, path=None if k == 4 else p))
    pre = ingest_mod._Prefetch(cands, budget=len(datas[0]) * 2)
    try:
        first = pre.take(0)
        assert max(loads) <= 2  # two files' worth ahead at most
        rows = len(list(csv.reader(io.StringIO(datas[0].decode())))) - 1  # its data lines, recounted
        assert first == (datas[0], hashlib.sha256(datas[0]).hexdigest(), rows)
        assert pre.take(1)[1] == hashlib.sha256(datas[1]).hexdigest()
        with pytest.raises(InputError, match="unreadable"):
            pre.take(2)
        assert pre.take(3)[2] is None  # quoted: not plain
        assert pre.take(4) is None  # a zip member (no path): the loop loads it
    finally:
        pre.close()
    assert 4 not in loads
