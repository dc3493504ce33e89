"""Small hand-written police.uk files for tests (synthetic; not derived from real data)."""
from __future__ import annotations

HEADER = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context"
FORCE = "Testshire Constabulary"


def row(cid: str, month: str, ctype: str, lsoa: str = "E01000001", lon: str = "-1.4", lat: str = "50.9",
        outcome: str = "Under investigation", context: str = "") -> str:
    return f"{cid},{month},{FORCE},{FORCE},{lon},{lat},On or near High Street,{lsoa},Test 001A,{ctype},{outcome},{context}"


def street_csv(rows: list[str], *, crlf: bool = False, bom: bool = False) -> bytes:
    nl = "\r\n" if crlf else "\n"
    text = nl.join([HEADER, *rows]) + nl
    data = text.encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if bom else data
