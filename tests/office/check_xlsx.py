#!/usr/bin/env python3
"""The review workbook and the Excel CSV in LibreOffice Calc, headless.

Scores a seed article with Chinese characters and curly quotes, then:

1. converts predictions.xlsx to CSV with LibreOffice: every cell equals the
   predictions CSV that `stance score` writes (text intact, numbers shown
   as the CSV writes them);
2. saves the workbook again from LibreOffice as xlsx: the autofilter, the
   review dropdown with the class names and the numeric cells survive, so
   LibreOffice understood them (a headless conversion has no view, so the
   frozen header, a view setting, is not saved back; tests/spreadsheet_cli.rs
   checks it in the workbook itself);
3. types a review into a workbook cell, lets LibreOffice save it, and
   `stance review apply` takes the label from LibreOffice's file;
4. opens the `--excel` CSV with LibreOffice's CSV import, the character
   set left to LibreOffice as its Text Import dialog does, saves it as
   xlsx, then CSV: the text is intact. (Headless, without filter options,
   LibreOffice 7.4 reads every CSV as Windows-1252, with or without a
   byte-order mark, which no desktop user sees; so the options are given.)

Python standard library only. STANCE and SOFFICE name the binaries.
"""

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STANCE = os.path.abspath(os.environ.get("STANCE", os.path.join(ROOT, "target/release/stance")))
SOFFICE = os.environ.get("SOFFICE", "soffice")
SEED = os.path.join(ROOT, "seeds/000_1ff71cbcd28b900c.txt")
CLASSES = ["convergence", "divergence", "western_pressure", "other"]
# UTF-8 (76), comma, double quotes, first line 1: LibreOffice's CSV export.
CSV_UTF8 = 'csv:Text - txt - csv (StarCalc):44,34,76,1'

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def soffice(work, target, src, outdir, infilter=None):
    """Converts src into outdir with a private LibreOffice profile."""
    args = [SOFFICE, f"-env:UserInstallation=file://{work}/profile", "--headless"]
    if infilter:
        args.append(f"--infilter={infilter}")
    run(args + ["--convert-to", target, "--outdir", outdir, src])
    name = os.path.splitext(os.path.basename(src))[0] + "." + target.split(":")[0]
    path = os.path.join(outdir, name)
    if not os.path.exists(path):
        sys.exit(f"LibreOffice wrote no {path}")
    return path


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def sheet_xml(xlsx):
    with zipfile.ZipFile(xlsx) as z:
        return z.read("xl/worksheets/sheet1.xml").decode("utf-8")


def main():
    work = tempfile.mkdtemp(prefix="stance-office-")
    try:
        out = os.path.join(work, "out")
        os.mkdir(out)
        xlsx = os.path.join(work, "predictions.xlsx")
        plain = os.path.join(work, "predictions.csv")
        excel = os.path.join(work, "excel.csv")
        run([STANCE, "score", "--out", xlsx, SEED], cwd=ROOT)
        run([STANCE, "score", "--out", plain, SEED], cwd=ROOT)
        run([STANCE, "score", "--excel", "--out", excel, SEED], cwd=ROOT)
        want = read_csv(plain)
        text = "\n".join(r[4] for r in want)
        check("李克強" in text and "“war games”" in text,
              "the seed has Chinese characters and curly quotes")

        # 1. The workbook as LibreOffice reads it.
        got = read_csv(soffice(work, CSV_UTF8, xlsx, out))
        check(got == want, f"LibreOffice reads the {len(want) - 1} rows of the workbook "
              "exactly as the CSV (Chinese characters, curly quotes, numbers)")
        if got != want:
            for g, w in zip(got, want):
                if g != w:
                    print("  LibreOffice:", g, "\n  CSV:        ", w)
                    break

        # 2. What LibreOffice keeps when it saves the workbook.
        resaved_dir = os.path.join(work, "resaved")
        os.mkdir(resaved_dir)
        resaved = soffice(work, "xlsx", xlsx, resaved_dir)
        xml = sheet_xml(resaved)
        last = len(want)
        # The review column is the last; found by name, not by letter.
        col = chr(ord("A") + want[0].index("review"))
        with zipfile.ZipFile(resaved) as z:
            names = "\n".join(
                z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
        check(f"A1:{col}{last}" in names and "_FilterDatabase" in names,
              "the autofilter covers every row and column")
        validation = re.search(r"<dataValidation [^>]*>.*?</dataValidation>", xml, re.S)
        check(validation is not None
              and 'type="list"' in validation.group(0)
              and f'sqref="{col}2:{col}{last}"' in validation.group(0)
              and ",".join(CLASSES) in validation.group(0),
              "the review column keeps its dropdown of the class names")
        numeric = re.findall(r'<c r="([BGH])2"([^>]*)>', xml)
        check(len(numeric) == 3 and all('t="s"' not in a and 't="str"' not in a
                                        for _, a in numeric),
              "sentence_id, confidence and p_convergence are numbers")

        # 3. A review typed into the workbook, saved by LibreOffice, applied.
        typed = os.path.join(work, "typed.xlsx")
        with zipfile.ZipFile(xlsx) as src, zipfile.ZipFile(typed, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    cell = f"{col}2".encode()
                    data, n = re.subn(rb'<c r="' + cell + rb'"( s="\d+")?/>',
                                      rb'<c r="' + cell
                                      + rb'"\1 t="inlineStr"><is><t>other</t></is></c>',
                                      data)
                    check(n == 1, f"the review cell {col}2 is filled in")
                dst.writestr(item, data)
        lo_dir = os.path.join(work, "lo")
        os.mkdir(lo_dir)
        lo = soffice(work, "xlsx", typed, lo_dir)
        labels = os.path.join(work, "labels")
        os.mkdir(labels)
        shutil.copy(os.path.join(ROOT, "labels/classes.txt"), labels)
        reviewed = os.path.join(labels, "reviewed.csv")
        applied = run([STANCE, "review", "apply", lo, "--labels", labels,
                       "--classes", os.path.join(labels, "classes.txt"),
                       "--labels-out", reviewed], cwd=ROOT)
        check(applied.stdout.startswith("1 reviewed: 1 added"),
              "review apply reads the workbook LibreOffice saved: " + applied.stdout.strip())
        rows = read_csv(reviewed) if os.path.exists(reviewed) else []
        check(rows == [["doc_id", "text", "label"], [want[1][0], want[1][4], "other"]],
              "the label row is the reviewed sentence")

        # 4. The Excel CSV through LibreOffice's CSV import: comma,
        # double quotes, character set detected (empty), from line 1.
        via_dir = os.path.join(work, "via")
        os.mkdir(via_dir)
        via = soffice(work, "xlsx", excel, via_dir, infilter="CSV:44,34,,1")
        back = read_csv(soffice(work, CSV_UTF8, via, via_dir))
        check(back[0] == want[0], "its byte-order mark is not read as text")
        check([r[4] for r in back] == [r[4] for r in want],
              "the --excel CSV opens in LibreOffice and keeps every sentence "
              "(Chinese characters, curly quotes)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("all LibreOffice checks passed")


if __name__ == "__main__":
    main()
