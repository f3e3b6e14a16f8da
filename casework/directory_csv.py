"""The directory as CSV, the way partnerships hold these lists: `agency,agency_kind,name,email,
role,active` (headers required; `active` optional, `yes` unless `no`; an optional `language`,
`en`, `cy` or `both`). UTF-8, with or without Excel's byte order mark."""

import csv
import io

from casework.directory_changes import BadRow, PersonRow, check_row
from casework.oversight_csv import csv_text
from core.text import N_, Said
from database.directory_trail import Snapshot

COLUMNS = ("agency", "agency_kind", "name", "email", "role", "active")
REQUIRED = COLUMNS[:-1]
OPTIONAL = ("active", "language")


class CsvFileError(ValueError):
    """The file as a whole cannot be read (not UTF-8, no header, columns missing)."""

    def __init__(self, said: Said) -> None:
        super().__init__(str(said))
        self.said = said


def read_people(data: bytes) -> list[PersonRow | BadRow]:
    """Every row of the file, checked on its own; line numbers as a spreadsheet shows them."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFileError(Said(N_("The file is not UTF-8 text: save it as CSV UTF-8"))) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        missed = {"columns": ", ".join(missing)}
        raise CsvFileError(
            Said(N_("The first row must name the columns; missing: %(columns)s"), missed)
        )
    unknown = [name for name in header if name not in (*REQUIRED, *OPTIONAL)]
    if unknown:
        raise CsvFileError(
            Said(N_("Unknown columns: %(columns)s"), {"columns": ", ".join(unknown)})
        )
    reader.fieldnames = header
    rows: list[PersonRow | BadRow] = []
    try:
        for record in reader:
            line = reader.line_num
            if None in record:
                rows.append(BadRow(line, (Said(N_("more values than columns")),)))
            elif any(value is None for value in record.values()):
                rows.append(BadRow(line, (Said(N_("fewer values than columns")),)))
            elif any(record.values()):
                rows.append(check_row(line, record))
    except csv.Error as exc:
        at: dict[str, Said | str | int] = {"line": reader.line_num, "fault": str(exc)}
        raise CsvFileError(Said(N_("Line %(line)s: %(fault)s"), at)) from None
    return rows


def write_people(people: list[tuple[Snapshot, str]]) -> str:
    """Snapshots (with their agency's kind) in the columns an import takes."""
    return csv_text(
        [
            COLUMNS,
            *(
                (
                    p["agency"],
                    kind,
                    p["name"],
                    p["email"],
                    p["role"],
                    "yes" if p["active"] else "no",
                )
                for p, kind in people
            ),
        ]
    )
