#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns a Markdown man page source (docs/man/*.md) into roff (man(7) macros).

    mkman.py --version 0.1.0 --root REPO docs/man/audisp-docker.8.md > audisp-docker.8

The sources hold what only a man page needs (NAME, SYNOPSIS, FILES, SEE ALSO) and pull the rest
out of README.md with include lines, so the page and the README cannot drift apart:

    <!-- include README.md "## Configuration" -->

takes that section of README.md (without its heading, up to the next heading of the same or a
higher level); its subheadings become .SS. The first line of a source is its title:

    <!-- man audisp-docker 8 "System Administration" -->

Markdown understood (the subset README.md uses): # headings, paragraphs, "- " lists, fenced
code blocks, tables (rendered as tagged paragraphs: the first column is the tag), `code`,
**bold**, *italic*, [links](target), \\-escapes. Anything else is text. No pandoc needed.
"""
import argparse
import datetime
import os
import re
import sys

INCLUDE = re.compile(r'^<!--\s*include\s+(\S+)\s+"([^"]+)"(\s+intro)?\s*-->\s*$')
TITLE = re.compile(r'^<!--\s*man\s+(\S+)\s+(\S+)\s+"([^"]+)"\s*-->\s*$')


def fail(msg):
    sys.stderr.write("mkman: %s\n" % msg)
    sys.exit(1)


def section_of(path, heading, intro=False):
    """Lines of the section of `path` headed `heading` (exact line), without the heading; with
    `intro`, only up to its first subheading."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except OSError as e:
        fail("cannot read %s: %s" % (path, e))
    level = 6 if intro else len(heading) - len(heading.lstrip("#"))
    out, inside, fence = [], False, False
    for line in lines:
        if line.startswith("```"):
            fence = not fence
        if not fence and line == heading:
            inside = True
            continue
        if inside and not fence and re.match(r"^#{1,%d} " % level, line):
            break
        if inside:
            out.append(line)
    if not inside:
        fail("%s has no line %r" % (path, heading))
    return out


def expand(lines, root):
    out = []
    for line in lines:
        m = INCLUDE.match(line)
        if m:
            out.extend(section_of(os.path.join(root, m.group(1)), m.group(2), bool(m.group(3))))
        else:
            out.append(line)
    return out


def char(c):
    """One character of text, safe for roff."""
    if c == "\\":
        return "\\e"
    if c == "-":
        return "\\-"
    if ord(c) > 127:
        return "\\[u%04X]" % ord(c)
    return c


def plain(text):
    return "".join(char(c) for c in text)


def inline(text):
    """Markdown inline markup to roff escapes."""
    out = []
    i, n = 0, len(text)
    bold = italic = False
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "\\`*_{}[]()#+-.!|<>":
            out.append(char(text[i + 1]))
            i += 2
            continue
        if c == "`":
            ticks = len(text[i:]) - len(text[i:].lstrip("`"))
            end = text.find("`" * ticks, i + ticks)
            if end < 0:
                out.append(plain(text[i:]))
                break
            code = text[i + ticks:end]
            if ticks > 1:
                code = code.strip()
            out.append("\\fB\\%" + plain(code) + "\\fR")  # \\%: never hyphenated
            if bold or italic:
                out.append("\\fB" if bold else "\\fI")
            i = end + ticks
            continue
        if text.startswith("**", i):
            bold = not bold
            out.append("\\fB" if bold else ("\\fI" if italic else "\\fR"))
            i += 2
            continue
        if c == "*":
            prev = text[i - 1] if i > 0 else " "
            nxt = text[i + 1] if i + 1 < n else " "
            opening = not italic and not nxt.isspace() and not prev.isalnum()
            closing = italic and not prev.isspace() and not nxt.isalnum()
            if opening or closing:
                italic = not italic
                out.append("\\fI" if italic else ("\\fB" if bold else "\\fR"))
                i += 1
                continue
        if c == "[":
            m = re.match(r"\[([^\]]+)\]\(([^)\s]+)\)", text[i:])
            if m:
                out.append(inline(m.group(1)))
                if re.match(r"https?://", m.group(2)):
                    out.append(" <" + plain(m.group(2)) + ">")
                i += m.end()
                continue
        out.append(char(c))
        i += 1
    if bold or italic:
        out.append("\\fR")
    return "".join(out)


def text_line(s, width=78):
    """Running text as lines of at most `width` bytes where spaces allow (one long word stays
    whole), none starting with a dot, an apostrophe or a space."""
    lines, cur = [], ""
    for word in s.split():
        if cur and len(cur) + 1 + len(word) > width:
            lines.append(cur)
            cur = word
        else:
            cur = cur + " " + word if cur else word
    if cur:
        lines.append(cur)
    return "\n".join("\\&" + x if x.startswith((".", "'")) else x for x in lines)


def split_row(row):
    """Cells of a Markdown table row; a | inside `code` or escaped stays in its cell."""
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    cells, cur, code, i = [], [], False, 0
    while i < len(row):
        c = row[i]
        if c == "\\" and i + 1 < len(row):
            cur.append(row[i:i + 2])
            i += 2
            continue
        if c == "`":
            code = not code
        if c == "|" and not code:
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    cells.append("".join(cur).strip())
    return cells


def table(rows, out):
    header = split_row(rows[0])
    body = [split_row(r) for r in rows[2:]] if len(rows) > 1 and re.match(r"^\|?\s*:?-", rows[1]) \
        else [split_row(r) for r in rows[1:]]
    for cells in body:
        out.append(".TP")
        out.append(text_line(inline(cells[0])) or "\\&")
        parts = []
        for name, value in zip(header[1:-1], cells[1:-1]):
            if value:
                parts.append(text_line("\\fI" + plain(name) + ":\\fR " + inline(value)))
        last = cells[-1] if len(cells) > 1 and len(header) > 1 else ""
        for k, p in enumerate(parts):
            out.append(p)
            if k + 1 < len(parts) or last:
                out.append(".br")
        if last:
            out.append(text_line(inline(last)))
        if not parts and not last:
            out.append("\\&")


def convert(lines):
    out = []
    para = []
    i = 0

    def flush():
        if para:
            out.append(".PP")
            out.append(text_line(inline(" ".join(p.strip() for p in para))))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            out.extend([".PP", ".RS 4", ".nf"])
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                code = plain(lines[i])
                if code.startswith((".", "'")):
                    code = "\\&" + code
                out.append(code)
                i += 1
            out.extend([".fi", ".RE"])
            i += 1
            continue
        m = re.match(r"^(#{1,6}) (.*)$", line)
        if m:
            flush()
            title = m.group(2).strip()
            if len(m.group(1)) == 1:
                out.append('.SH "' + inline(title.upper()).replace('"', '\\(dq') + '"')
            else:
                out.append('.SS "' + inline(title).replace('"', '\\(dq') + '"')
            i += 1
            continue
        if line.startswith("|"):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            table(rows, out)
            continue
        m = re.match(r"^(\s*)([-*]|\d+\.) (.*)$", line)
        if m and not (m.group(2) == "*" and m.group(3).endswith("*")):
            flush()
            indent = len(m.group(1))
            item = [m.group(3)]
            i += 1
            while i < len(lines) and lines[i].strip() and lines[i].startswith(" " * (indent + 2)) \
                    and not re.match(r"^\s*([-*]|\d+\.) ", lines[i]):
                item.append(lines[i])
                i += 1
            bullet = "\\(bu 2" if m.group(2) in "-*" else m.group(2) + " 4"
            out.append(".IP " + bullet)
            out.append(text_line(inline(" ".join(s.strip() for s in item))))
            continue
        if not line.strip() or line.lstrip().startswith("<!--"):
            flush()
            i += 1
            continue
        para.append(line)
        i += 1
    flush()
    # A paragraph macro right after a heading is redundant (mandoc warns).
    return [l for k, l in enumerate(out) if not (l == ".PP" and k > 0 and out[k - 1].startswith((".SH", ".SS")))]


def main():
    ap = argparse.ArgumentParser(description="Markdown man page source to roff")
    ap.add_argument("source")
    ap.add_argument("--root", default=".", help="where include paths start (the repository)")
    ap.add_argument("--version", default="", help="the package version, in the page footer")
    ap.add_argument("-o", "--output", help="write here (default: standard output)")
    args = ap.parse_args()
    with open(args.source, encoding="utf-8") as f:
        lines = f.read().split("\n")
    m = TITLE.match(lines[0]) if lines else None
    if not m:
        fail('%s: the first line must be <!-- man NAME SECTION "MANUAL" -->' % args.source)
    name, sect, manual = m.groups()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch \
        else datetime.datetime.now(datetime.timezone.utc)
    body = convert(expand(lines[1:], args.root))
    head = ['.\\" Generated by docs/man/mkman.py from %s; edit that, not this.' % os.path.basename(args.source),
            '.TH "%s" "%s" "%s" "audisp-docker %s" "%s"' % (name.upper(), sect, when.strftime("%Y-%m-%d"),
                                                            args.version, manual),
            ".ad l"]  # left-aligned: long paths and keys never leave a line unadjustable
    text = "\n".join(head + body) + "\n"
    if args.output:
        tmp = args.output + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(text)
        os.replace(tmp, args.output)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
