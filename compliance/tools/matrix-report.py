#!/usr/bin/env python3
"""The client conformance report of `compliance/run matrix`.

    matrix-report.py OUT_DIR RESULTS_DIR...

Reads what the suites' guest side left in each RESULTS_DIR: streams.tsv (one
line per client decode of a stream, compliance/guest/lib.sh: record), the
daemon's log (its per-context "context findings" / "control finding" lines,
daemon/src/findings.rs) and sheets.tsv + sheets/ (compliance/guest/sheets.sh).
Writes OUT_DIR/report.md and OUT_DIR/report.html (sheets copied next to
them) and prints the Markdown table of pass counts. A client or codec with no
records is listed as not run, never as passed.
"""

import html
import os
import re
import shutil
import sys
from collections import OrderedDict, defaultdict

CLIENTS = ["GStreamer", "daedalus-decode (frame)", "daedalus-decode (slice)", "ccdec"]
CODECS = ["h264", "hevc", "vp8", "vp9", "av1", "mpeg2"]
COLUMNS = ["client", "codec", "stream", "variant", "result", "secs", "ctx0", "ctx1",
           "out_md5", "ref_md5", "file", "bits", "detail"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def gst_element(codec):
    return f"v4l2sl{codec.replace('hevc', 'h265')}dec"


def client_label(client, codec=None):
    if client == "GStreamer" and codec:
        return f"GStreamer {gst_element(codec)}"
    return client


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def unquote(v):
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return re.sub(r'\\(.)', r'\1', v[1:-1])
    return v


def read_tsv(d, name, columns):
    """The lines of d/name with at least `columns` tab-separated fields."""
    path = os.path.join(d, name)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    return [r for r in rows if len(r) >= columns]


def read_records(d):
    rows = []
    for parts in read_tsv(d, "streams.tsv", len(COLUMNS)):
        r = dict(zip(COLUMNS, parts[:len(COLUMNS)]))
        r["dir"] = d
        rows.append(r)
    return rows


def read_findings(d):
    """ctx -> list of (field, count, expected, got), and ctx -> requests."""
    fields = defaultdict(list)
    requests = {}
    path = os.path.join(d, "daemon.log")
    if not os.path.exists(path):
        return fields, requests
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = ANSI.sub("", line)
            if "control finding" not in line and "context findings" not in line:
                continue
            kv = {k: unquote(v) for k, v in KV.findall(line)}
            try:
                ctx = int(kv["ctx"])
            except (KeyError, ValueError):
                continue
            if "context findings" in line:
                requests[ctx] = int(kv.get("requests", "0"))
            elif "field" in kv:
                fields[ctx].append((kv["field"], int(kv.get("count", "0")),
                                    kv.get("expected", ""), kv.get("got", "")))
    return fields, requests


def ctx_range(r):
    try:
        c0, c1 = int(r["ctx0"]), int(r["ctx1"])
    except ValueError:
        return []
    return list(range(c0, c1)) if c1 >= c0 else []


def read_sheets(d):
    return {(p[0], p[1]): {"variant": p[2], "frame": p[3], "png": p[4], "note": p[5], "dir": d}
            for p in read_tsv(d, "sheets.tsv", 6)}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_dir, dirs = sys.argv[1], sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    rows, sheets = [], {}
    findings = defaultdict(lambda: defaultdict(lambda: [0, 0, None]))  # client -> field -> [n, streams, ex]
    requests = defaultdict(int)  # client -> requests with a findings summary
    for d in dirs:
        recs = read_records(d)
        fields, reqs = read_findings(d)
        sheets.update(read_sheets(d))
        for r in recs:
            label = client_label(r["client"], r["codec"])
            seen = set()
            for ctx in ctx_range(r):
                requests[label] += reqs.get(ctx, 0)
                for field, n, exp, got in fields.get(ctx, []):
                    t = findings[label][field]
                    t[0] += n
                    if field not in seen:
                        t[1] += 1
                        seen.add(field)
                    if t[2] is None:
                        t[2] = (r["stream"], exp, got)
        rows.extend(recs)

    # client x codec pass counts
    clients = [c for c in CLIENTS if any(r["client"] == c for r in rows)]
    clients += sorted({r["client"] for r in rows} - set(CLIENTS))
    not_run_clients = [c for c in CLIENTS if c not in clients]
    count = defaultdict(lambda: [0, 0, 0])  # (client, codec) -> [passed, failed, not run]
    for r in rows:
        k = (r["client"], r["codec"])
        count[k][{"PASS": 0, "FAIL": 1}.get(r["result"], 2)] += 1

    def cell(c, codec):
        p, f, n = count.get((c, codec), [0, 0, 0])
        if p + f + n == 0:
            return "not run"
        s = f"{p}/{p + f}"
        if n:
            s += f" (+{n} not run)"
        return s

    table = ["| client | " + " | ".join(CODECS) + " | all |",
             "|---|" + "---|" * (len(CODECS) + 1)]
    for c in clients:
        p = sum(count[(c, k)][0] for k in CODECS if (c, k) in count)
        f = sum(count[(c, k)][1] for k in CODECS if (c, k) in count)
        table.append(f"| {c} | " + " | ".join(cell(c, k) for k in CODECS) + f" | {p}/{p + f} |")
    for c in not_run_clients:
        table.append(f"| {c} | " + " | ".join("not run" for _ in CODECS) + " | - |")

    # per stream: result per client (variants aggregated)
    streams = OrderedDict()
    for r in rows:
        key = (r["codec"], r["stream"])
        streams.setdefault(key, defaultdict(list))[r["client"]].append(r)

    def stream_cell(rs):
        if not rs:
            return "", ""
        p = sum(r["result"] == "PASS" for r in rs)
        f = sum(r["result"] == "FAIL" for r in rs)
        if p + f == 0:
            return "not run", rs[0]["detail"]
        secs = sum(float(r["secs"]) for r in rs if re.match(r"^[0-9.]+$", r["secs"]))
        mark = "pass" if f == 0 else "FAIL"
        n = f" {p}/{p + f}" if p + f > 1 else ""
        why = "; ".join(f"{r['variant']}: {r['detail']}" if r["variant"] != "-" else r["detail"]
                        for r in rs if r["result"] == "FAIL")
        return f"{mark}{n} {secs:.1f}s", why

    # sheets copied next to the reports
    sheet_rows = []
    for (client, stream), s in sorted(sheets.items()):
        png = None
        if s["png"] != "-":
            src = os.path.join(s["dir"], s["png"])
            if os.path.exists(src):
                png = os.path.join("sheets", os.path.basename(s["png"]))
                os.makedirs(os.path.join(out_dir, "sheets"), exist_ok=True)
                shutil.copy(src, os.path.join(out_dir, png))
        sheet_rows.append((client, stream, s, png))

    passed = sum(r["result"] == "PASS" for r in rows)
    failed = sum(r["result"] == "FAIL" for r in rows)
    notrun = len(rows) - passed - failed

    md = ["# Daedalus client conformance report", "",
          f"{len(rows)} client decodes of {len(streams)} streams: {passed} passed, "
          f"{failed} failed, {notrun} not run. Results from: "
          + ", ".join(f"`{d}`" for d in dirs) + ".", "",
          "## Pass counts (decodes with the reference MD5 / decodes run)", ""]
    md += table
    md += ["", "A client's decodes of one stream are counted each (daedalus-decode: "
           "MMAP, DMABUF, start-code variants).", ""]
    md += ["## What each client's controls say differently from the bitstream", "",
           "The daemon (lenient mode) checks every request's controls against the bitstream "
           "and its own DPB tracking and counts each field per context "
           "(`daemon/src/findings.rs`).", ""]
    labels = sorted({client_label(r["client"], r["codec"]) for r in rows})
    for label in labels:
        fs = findings.get(label)
        if not fs:
            md.append(f"- **{label}**: no finding"
                      + (f" in {requests[label]} requests." if requests[label] else "."))
            continue
        md.append(f"- **{label}** ({requests[label]} requests):")
        for field, (n, ns, ex) in sorted(fs.items(), key=lambda kv: (-kv[1][0], kv[0])):
            md.append(f"  - `{field}`: {n} times in {plural(ns, 'stream')} (first in {ex[0]}: "
                      f"bitstream `{ex[1]}`, control `{ex[2]}`)")
    md += ["", "## Outputs that are not the reference", ""]
    if not sheet_rows:
        md.append("None: every output a client produced had the reference MD5 or none.")
    for client, stream, s, png in sheet_rows:
        line = f"- {client}, {stream}: {s['note']}"
        if png:
            line += f" ![{client} {stream}: FFmpeg | {client} | difference x8]({png})"
        md.append(line)
    md += ["", "## Per stream", "", "| codec | stream | " + " | ".join(clients) + " |",
           "|---|---|" + "---|" * len(clients)]
    failures = []
    for (codec, stream), by in streams.items():
        cells = []
        for c in clients:
            txt, why = stream_cell(by.get(c, []))
            cells.append(txt)
            if why and txt.startswith("FAIL"):
                failures.append(f"- {c}, {codec} {stream}: {why}")
        md.append(f"| {codec} | {stream} | " + " | ".join(cells) + " |")
    if failures:
        md += ["", "## Failures", ""] + failures
    with open(os.path.join(out_dir, "report.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")

    e = html.escape
    h = ["<!doctype html><html><head><meta charset='utf-8'>",
         "<title>Daedalus client conformance report</title><style>",
         "body{font-family:sans-serif;margin:2em} table{border-collapse:collapse}",
         "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}",
         ".pass{background:#dfd} .fail{background:#fdd} .nr{background:#eee}",
         "img{max-width:100%}</style></head><body>",
         "<h1>Daedalus client conformance report</h1>",
         f"<p>{len(rows)} client decodes of {len(streams)} streams: {passed} passed, "
         f"{failed} failed, {notrun} not run.</p>",
         "<h2>Pass counts</h2><table><tr><th>client</th>"
         + "".join(f"<th>{k}</th>" for k in CODECS) + "</tr>"]
    for c in clients + not_run_clients:
        h.append(f"<tr><th>{e(c)}</th>")
        for k in CODECS:
            p, fl, _ = count.get((c, k), [0, 0, 0])
            cls = "nr" if p + fl == 0 else ("pass" if fl == 0 else "fail")
            h.append(f"<td class='{cls}'>{e(cell(c, k))}</td>")
        h.append("</tr>")
    h.append("</table><h2>Control findings per client</h2><ul>")
    for label in labels:
        fs = findings.get(label)
        if not fs:
            h.append(f"<li><b>{e(label)}</b>: no finding</li>")
            continue
        h.append(f"<li><b>{e(label)}</b> ({requests[label]} requests)<ul>")
        for field, (n, ns, ex) in sorted(fs.items(), key=lambda kv: (-kv[1][0], kv[0])):
            h.append(f"<li><code>{e(field)}</code>: {n} times in {plural(ns, 'stream')} (first in "
                     f"{e(ex[0])}: bitstream <code>{e(ex[1])}</code>, control "
                     f"<code>{e(ex[2])}</code>)</li>")
        h.append("</ul></li>")
    h.append("</ul><h2>Outputs that are not the reference</h2>")
    if not sheet_rows:
        h.append("<p>None.</p>")
    for client, stream, s, png in sheet_rows:
        h.append(f"<h3>{e(client)}, {e(stream)}</h3><p>{e(s['note'])}</p>")
        if png:
            h.append(f"<p>FFmpeg | {e(client)} | difference x8</p><img src='{e(png)}'>")
    h.append("<h2>Per stream</h2><table><tr><th>codec</th><th>stream</th>"
             + "".join(f"<th>{e(c)}</th>" for c in clients) + "</tr>")
    for (codec, stream), by in streams.items():
        h.append(f"<tr><td>{e(codec)}</td><td>{e(stream)}</td>")
        for c in clients:
            txt, why = stream_cell(by.get(c, []))
            cls = "" if not txt else ("nr" if txt == "not run" else
                                      ("fail" if txt.startswith("FAIL") else "pass"))
            h.append(f"<td class='{cls}' title='{e(why)}'>{e(txt)}</td>")
        h.append("</tr>")
    h.append("</table></body></html>")
    with open(os.path.join(out_dir, "report.html"), "w", encoding="utf-8") as f:
        f.write("\n".join(h) + "\n")

    print("\n".join(table))
    print(f"report: {os.path.join(out_dir, 'report.md')} and report.html "
          f"({passed} passed, {failed} failed, {notrun} not run)")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
