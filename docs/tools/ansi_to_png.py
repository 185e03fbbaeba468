#!/usr/bin/env python3
"""Renders a terminal capture with colours (`tmux capture-pane -p -e`) to a PNG with ImageMagick.

Used to make assets/screenshot.png from the real program:
    tmux capture-pane -p -e -t SESSION > screen.ans
    python3 docs/tools/ansi_to_png.py screen.ans assets/screenshot.png
"""
import re
import subprocess
import sys
import tempfile

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
POINT = 16
CELL_W = 9.65
CELL_H = 19
PAD = 12
BG = "#1d2021"
FG = "#d5c4a1"
PALETTE = ["#282828", "#fb4934", "#b8bb26", "#fabd2f", "#83a598", "#d3869b", "#8ec07c", "#d5c4a1",
           "#665c54", "#fb4934", "#b8bb26", "#fabd2f", "#83a598", "#d3869b", "#8ec07c", "#fbf1c7"]
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def color256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    level = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (level, level, level)


def parse(text):
    """Yields rows of cells: (char, fg, bg, bold, dim, reverse)."""
    rows = []
    style = dict(fg=None, bg=None, bold=False, dim=False, rev=False)
    for line in text.split("\n"):
        cells = []
        pos = 0
        for m in SGR.finditer(line):
            for ch in line[pos:m.start()]:
                cells.append((ch, dict(style)))
            pos = m.end()
            codes = [int(c) if c else 0 for c in m.group(1).split(";")] or [0]
            i = 0
            while i < len(codes):
                c = codes[i]
                if c == 0:
                    style = dict(fg=None, bg=None, bold=False, dim=False, rev=False)
                elif c == 1:
                    style["bold"] = True
                elif c == 2:
                    style["dim"] = True
                elif c == 22:
                    style["bold"] = style["dim"] = False
                elif c == 7:
                    style["rev"] = True
                elif c == 27:
                    style["rev"] = False
                elif 30 <= c <= 37:
                    style["fg"] = PALETTE[c - 30]
                elif 90 <= c <= 97:
                    style["fg"] = PALETTE[c - 90 + 8]
                elif c == 39:
                    style["fg"] = None
                elif 40 <= c <= 47:
                    style["bg"] = PALETTE[c - 40]
                elif 100 <= c <= 107:
                    style["bg"] = PALETTE[c - 100 + 8]
                elif c == 49:
                    style["bg"] = None
                elif c in (38, 48) and i + 1 < len(codes):
                    key = "fg" if c == 38 else "bg"
                    if codes[i + 1] == 5 and i + 2 < len(codes):
                        style[key] = color256(codes[i + 2])
                        i += 2
                    elif codes[i + 1] == 2 and i + 4 < len(codes):
                        style[key] = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                        i += 4
                i += 1
        for ch in line[pos:]:
            cells.append((ch, dict(style)))
        rows.append(cells)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def escape(ch):
    return ch.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"')


def main(src, dst):
    rows = parse(open(src, encoding="utf-8").read())
    width = max(len(r) for r in rows)
    w = int(PAD * 2 + width * CELL_W)
    h = int(PAD * 2 + len(rows) * CELL_H)
    mvg = [f"viewbox 0 0 {w} {h}", f"fill '{BG}'", f"rectangle 0,0 {w},{h}", f"font-size {POINT}"]
    for y, cells in enumerate(rows):
        for x, (ch, s) in enumerate(cells):
            fg, bg = s["fg"] or FG, s["bg"]
            if s["rev"]:
                fg, bg = (s["bg"] or BG), (s["fg"] or FG)
            x0 = PAD + x * CELL_W
            y0 = PAD + y * CELL_H
            if bg:
                mvg.append(f"fill '{bg}' rectangle {x0:.1f},{y0} {x0 + CELL_W:.1f},{y0 + CELL_H}")
            if ch != " ":
                if s["dim"] and not s["rev"]:
                    fg = "#928374"
                mvg.append(f"font '{BOLD if s['bold'] else FONT}'")
                mvg.append(f"fill '{fg}' text {x0:.1f},{y0 + CELL_H - 4} '{escape(ch)}'")
    with tempfile.NamedTemporaryFile("w", suffix=".mvg", delete=False, encoding="utf-8") as f:
        f.write("\n".join(mvg))
        path = f.name
    subprocess.run(["convert", "-size", f"{w}x{h}", f"mvg:{path}", dst], check=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
