"""The composite chronology end to end: requests carry the templates, agencies reply through the
Maildir mailbox with real .xlsx and .docx files, `tick` reads them and answers each agency,
a corrected return replaces the agency's rows, and `case REF chronology` merges them in order
(checked against an independent sort of the test's own data) and exports XLSX, DOCX and HTML."""

from __future__ import annotations

import email
import io
import json
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.chronology_columns import read_header
from bot.chronology_read import kind_of, read_file
from bot.cli import main
from tests.support.chronology_files import HEADINGS, docx, return_email, xlsx

REF = "SI-2026-0001"
CANARY = "Zebedee Canary"
BM = ["--actor", "business.manager@partnership.example"]

#: Each entry: the row as the agency types it, and what the test expects of its date by hand
#: (the first day it can mean, approximate?), for the independent sort.
POLICE = [
    ([datetime(2018, 6, 1), "09:30", "Police incident log", f"{CANARY} reported missing", "Found",
      "Analysed"], (date(2018, 6, 1), False)),
    (["c. 2018", "", "PNC record", "Earlier contact", "", ""], (date(2018, 1, 1), True)),
    (["3 March 2019", "", "Officer's notebook", "Visit <script>alert(1)</script>", "Advice", ""],
     (date(2019, 3, 3), False)),
    (["Spring 2019", "", "Neighbourhood team", "Reports of concern", "", ""], (date(2019, 3, 1), True)),
    (["?05/2019", "", "Intelligence log", "Sighting", "", ""], (date(2019, 5, 1), True)),
    (["2019-06-10", "14:00", "Custody record", "Arrest of adult", "Charged", ""], (date(2019, 6, 10), False)),
    ([43700, "", "Domestic abuse log", "Callout", "DASH completed", ""], (date(2019, 8, 23), False)),
]
POLICE_HEADINGS = ["DATE", "Time", "Source", "Event details", "Action taken", "Analysis / comment"]

SCHOOL_TABLE_1 = [  # newest first
    (["12/09/2019", "Attendance record", "Absent", "Letter home"], (date(2019, 9, 12), False)),
    (["Summer 2019", "Class teacher", "Withdrawn in class", ""], (date(2019, 6, 1), True)),
    (["03/03/2019", "DSL log", "Disclosure to teacher", "Referral to CSC"], (date(2019, 3, 3), False)),
]
SCHOOL_TABLE_2 = [  # Word split the table: no headings, still newest first
    (["15/01/2019", "Attendance record", "Late", ""], (date(2019, 1, 15), False)),
    (["10.10.18", "Pastoral log", "Upset at drop-off", "Monitored"], (date(2018, 10, 10), False)),
]

ICB_BAD = [
    ["", "", "GP record", "Seen", ""],  # row 2: no date
    ["32/13/2019", "", "GP record", "Seen", ""],  # row 3: not a date
    ["01/02/2019", "25:99", "GP record", "Seen", ""],  # row 4: not a time
    ["05/02/2019", "", "", "Seen by health visitor", ""],  # row 5: no source
    ["10/02/2019", "", "GP record", "Seen", ""],  # row 6
    ["01/01/2019", "", "GP record", f"{CANARY} seen", ""],  # row 7: out of order
    ["20/02/2019", "", "GP record", "Seen", ""],  # row 8
    ["01/01/2099", "", "GP record", "Seen", ""],  # row 9: after today
]
ICB_GOOD = [
    (["11/11/2018", "10:00", "GP record", '=HYPERLINK("http://x.example","Registration")', ""],
     (date(2018, 11, 11), False)),  # text in Word; it must stay text in the composite workbook
    (["01/06/2018", "", "Health visitor", "Home visit", "Advice"], (date(2018, 6, 1), False)),
]
ICB_GOOD_ORDERED = [ICB_GOOD[1], ICB_GOOD[0]]


class Bot:
    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.env = {"DATABASE_URL": database_url, "MAILDIR": str(root / "mail"),
                    "ATTACHMENTS_DIR": str(root / "attachments"), "STATE_DIR": str(root / "state"),
                    "PROTOCOL_FILE": "", "MAIL_BACKEND": "maildir"}
        self.dropped = 0

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    def drop(self, raw: bytes) -> None:
        self.dropped += 1
        new = self.root / "mail" / "inbox" / "new"
        new.mkdir(parents=True, exist_ok=True)
        (new / f"{self.dropped}.eml").write_bytes(raw)

    def sent(self) -> list[EmailMessage]:
        folder = self.root / "mail" / "sent"
        files = sorted(p for sub in ("new", "cur") for p in (folder / sub).glob("*"))
        messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]
        return sorted((m for m in messages if isinstance(m, EmailMessage)), key=lambda m: m["Date"].datetime)


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Bot:
    return Bot(tmp_path, database_url)


def _to_lcspr(bot: Bot) -> dict[str, str]:
    now = ["--now", "2026-11-16T10:00", *BM]
    bot(*now, "open", "--referring-agency", "la-csc", "--incident-date", "2026-11-12",
        "--la-aware", "2026-11-13", "--outcome", "death", "--agency", "police")
    bot(*now, "case", REF, "accept")
    bot(*now, "case", REF, "sin-submitted")
    bot(*now, "case", REF, "decide", "lcspr", "--rationale", "criteria met")
    bot(*now, "case", REF, "request", "chronology", "--agency", "police", "--agency", "icb",
        "--agency", "school")
    bot("tick", "--now", "2026-11-16T10:05")
    requests = [m for m in bot.sent() if "Chronology request" in str(m["Subject"])]
    return {str(m["To"]): str(m["Message-ID"]) for m in requests}


def _police_file() -> bytes:
    return xlsx({"Chronology": [POLICE_HEADINGS, *[row for row, _ in POLICE]],
                 "Notes": [["Completed by the review officer"]]})


def _school_file() -> bytes:
    table_1 = [["Date of event", "Information source", "What happened", "Outcome"],
               *[row for row, _ in SCHOOL_TABLE_1]]
    return docx([[["Agency", "School"], ["Completed by", "DSL"]],  # a cover table: no headings
                 table_1, [row for row, _ in SCHOOL_TABLE_2]])


def _replies(bot: Bot, to: str) -> list[EmailMessage]:
    answers = ("Chronology return:", "Chronology received")
    return [m for m in bot.sent() if str(m["To"]) == to and any(a in str(m["Subject"]) for a in answers)]


def _body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_requests_carry_the_default_templates(bot: Bot) -> None:
    _to_lcspr(bot)
    (request, *_) = [m for m in bot.sent() if str(m["To"]) == "reviews@police.example"]
    files = {str(a.get_filename()): a.get_content() for a in request.iter_attachments()}
    assert set(files) == {"chronology.xlsx", "chronology.docx"}
    for data in files.values():
        kind = kind_of(data)
        assert kind in ("xlsx", "docx")
        grids = read_file(data, kind)
        header = read_header(grids[0].rows[0][1], 1)
        assert header is not None and set(header.columns) == {"date", "time", "source", "event", "outcome"}


def test_round_trip_through_the_mailbox(bot: Bot, tmp_path: Path) -> None:
    requests = _to_lcspr(bot)
    police = [("police.xlsx", _police_file())]
    bot.drop(return_email(from_addr="reviews@police.example", ref=REF, files=police,
                          in_reply_to=requests["reviews@police.example"]))
    icb_bad = docx([[HEADINGS, *ICB_BAD]])
    bot.drop(return_email(from_addr="safeguarding@icb.example", ref=REF, files=[("icb.docx", icb_bad)],
                          in_reply_to=requests["safeguarding@icb.example"], message_id="<icb-1@icb.example>"))
    bot.drop(return_email(from_addr="safeguarding@school.example", ref=REF,
                          files=[("school.docx", _school_file())],
                          in_reply_to=requests["safeguarding@school.example"]))
    out = json.loads(bot("tick", "--now", "2026-11-18T12:00", "--json").output)
    assert [m["classification"] for m in out["messages"]] == ["agency-return"] * 3

    (police_reply,) = _replies(bot, "reviews@police.example")
    assert "Chronology received: 7 entries" in str(police_reply["Subject"])
    (icb_reply,) = _replies(bot, "safeguarding@icb.example")
    assert str(icb_reply["In-Reply-To"]) == "<icb-1@icb.example>"  # threaded to its return
    assert "6 things to correct" in str(icb_reply["Subject"])
    text = " ".join(_body(icb_reply).split())
    where = "file 1 (Word), table 1"
    for expected in (f"{where} row 2, Date: is empty", f"{where} row 3, Date: is not a date",
                     f"{where} row 4, Time: is not a time", f"{where} row 5, Source of information: is empty",
                     f"{where} row 7, Date: is out of date order (the table runs oldest first)",
                     f"{where} row 9, Date: is after today"):
        assert expected in text
    for row in (6, 8):
        assert f"row {row}," not in text
    assert CANARY not in icb_reply.as_string() and "Seen by health visitor" not in text  # never echoed

    view = json.loads(bot("--now", "2026-11-18T12:05", "case", REF, "chronology", "--json").output)
    states = {p["agency"]: p for p in view["problems"]}
    assert {a: s["status"] for a, s in states.items()} == {"police": "valid", "icb": "invalid",
                                                           "school": "valid"}
    assert len(states["icb"]["problems"]) == 6 and view["complete"] is False
    assert {e["agency"] for e in view["events"]} == {"police", "school"}

    # The ICB corrects its return: it replaces the first, and the composite is complete.
    icb_good = docx([[HEADINGS, *[row for row, _ in ICB_GOOD]]])
    bot.drop(return_email(from_addr="safeguarding@icb.example", ref=REF, files=[("icb-v2.docx", icb_good)],
                          in_reply_to=str(icb_reply["Message-ID"])))
    bot("tick", "--now", "2026-11-19T09:00")
    assert "Chronology received" in str(_replies(bot, "safeguarding@icb.example")[-1]["Subject"])
    paths = {kind: tmp_path / f"composite.{kind}" for kind in ("xlsx", "docx", "html")}
    view = json.loads(bot("--now", "2026-11-19T09:05", *BM, "case", REF, "chronology", "--json",
                          "--xlsx", str(paths["xlsx"]), "--docx", str(paths["docx"]),
                          "--html", str(paths["html"])).output)
    assert view["complete"] is True and all(p["problems"] == [] for p in view["problems"])

    expected = _independent_order()
    where = {"police": (2, 3), "icb": (2, 3), "school": (1, 2)}  # source, event columns
    assert [(e["agency"], e["source"], e["event"]) for e in view["events"]] == [
        (agency, row[where[agency][0]], row[where[agency][1]]) for agency, row in expected]
    first = view["events"][0]
    assert set(first) >= {"date", "approximate", "agency", "source", "event", "outcome"}
    approximate = {e["date"] for e in view["events"] if e["approximate"]}
    assert approximate == {"2018", "Spring 2019", "May 2019", "Summer 2019"}
    incident = next(e for e in view["events"] if e["source"] == "Police incident log")
    assert incident["extra"] == {"Analysis / comment": "Analysed"} and incident["time"] == "09:30"
    assert (incident["date"], incident["outcome"]) == ("01/06/2018", "Found")

    _check_exports(paths, len(expected))
    case_view = json.loads(bot("--now", "2026-11-19T09:10", "case", REF, "--json").output)
    kinds = [e["kind"] for e in case_view["events"]]
    assert kinds.count("chronology_read") == 4 and kinds.count("chronology_complete") == 1
    assert "chronology_exported" in kinds
    for event in case_view["events"]:  # the audit trail keeps counts, never the content
        assert CANARY not in json.dumps(event)


def _independent_order() -> list[tuple[str, list[object]]]:
    """The expected composite, sorted from the test's own hand-written dates: the first day,
    exact before approximate, then agency, then the entry's place in its agency's time order."""
    keyed = []
    for agency, entries in (("police", POLICE), ("icb", ICB_GOOD_ORDERED),
                            ("school", list(reversed(SCHOOL_TABLE_1)) + list(reversed(SCHOOL_TABLE_2)))):
        for position, (row, (first_day, approximate)) in enumerate(entries):
            keyed.append(((first_day, approximate, agency, position), agency, row))
    # School's tables are each newest first; in time order table 1 comes before table 2 here,
    # and the date decides between them.
    return [(agency, row) for _, agency, row in sorted(keyed, key=lambda k: k[0])]


def _check_exports(paths: dict[str, Path], count: int) -> None:
    from docx import Document
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(paths["xlsx"].read_bytes())).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    formula = [c for row in sheet.iter_rows() for c in row if str(c.value).startswith("=HYPERLINK")]
    assert len(formula) == 1 and formula[0].data_type == "s"  # an agency's text stays text
    assert rows[0][:4] == ("Date", "Approximate", "Time", "Agency") and len(rows) == count + 1
    fills = {r[3]: sheet.cell(row=i, column=1).fill.fgColor.rgb for i, r in enumerate(rows[1:], start=2)}
    assert len(set(fills.values())) == 3  # a colour per agency
    table = Document(io.BytesIO(paths["docx"].read_bytes())).tables[0]
    assert len(table.rows) == count + 1
    page = paths["html"].read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page


def test_a_return_without_a_chronology_is_answered(bot: Bot) -> None:
    requests = _to_lcspr(bot)
    bot.drop(return_email(from_addr="reviews@police.example", ref=REF, files=[("scan.pdf", b"%PDF-1.4 x")],
                          in_reply_to=requests["reviews@police.example"]))
    bot("tick", "--now", "2026-11-18T12:00")
    (reply,) = _replies(bot, "reviews@police.example")
    assert "is a PDF" in " ".join(_body(reply).split())
    bot.drop(return_email(from_addr="reviews@police.example", ref=REF, files=[],
                          in_reply_to=requests["reviews@police.example"]))
    bot("tick", "--now", "2026-11-18T13:00")
    latest = _replies(bot, "reviews@police.example")[-1]
    assert "no chronology was attached" in " ".join(_body(latest).split())
    out = bot("--now", "2026-11-18T13:05", "case", REF, "chronology").output
    assert "police         invalid" in out and "icb            awaited" in out
