#!/usr/bin/python3
"""The throughput benchmark of issue 7: our client next to lettre,
mail-send, Python's smtplib and Postfix's smtp-source, all in one run,
against Postfix's smtp-sink on 127.0.0.1. Run it through bench/run.sh.

Every client is a process of its own: wall time is taken around it here,
and its CPU time and peak memory come from wait4's rusage, the same way for
every client. smtp-sink's own CPU time (from /proc) is shown beside, since
the sink is what limits the fastest clients.

Environment:
  BENCH_QUICK=1     workloads 10x smaller (smoke test); W6 uses 100 MiB
  BENCH_ONLY=W1,W5  run only these workloads (also: NOPIPE, CHUNKING)
  BENCH_SKIP=...    skip these workloads
  BENCH_OUT=FILE    also write the tables (markdown) to FILE
  BENCH_BIN=DIR     where the Rust client binaries are (run.sh sets it)
  BENCH_REPEAT=N    run each row N times, keep the fastest (default 3; 1 quick;
                    the time-bound "as shipped" rows run once)
  BENCH_CHART=FILE  where the chart goes (default bench/results/throughput.svg;
                    "-" for none)

The chart: every run also writes an SVG of the msg/s of every table, one
group of bars per workload and one colour per client (log scale when the
figures span more than two orders of magnitude), from the same figures the
tables print. `run.py --chart-from RESULTS.md [--out FILE.svg]` draws it
again from the tables of an earlier run (BENCH_OUT or bench/results/*.md)
without running anything.
"""
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
QUICK = os.environ.get("BENCH_QUICK") == "1"
BIN = os.environ.get("BENCH_BIN", os.path.join(HERE, "target", "release"))
ONLY = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
SKIP = [w for w in os.environ.get("BENCH_SKIP", "").split(",") if w]
SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
KILL_AFTER = 300  # seconds: no client run may take longer than this
REPEAT = int(os.environ.get("BENCH_REPEAT", "1" if QUICK else "3"))
SHIPPED_SECS = 3 if QUICK else 5  # time bound of the as-shipped (no TCP_NODELAY) rows
RUN_SECS = 30 if QUICK else 120  # time bound of every other row

out_lines = []
# (workload label, [(client, msg/s)]) for every table printed, for the chart.
chart_groups = []


def say(line=""):
    print(line, flush=True)
    out_lines.append(line)


def scale(n):
    return max(1, n // 10) if QUICK else n


# ---------------------------------------------------------------- messages

def write_message(path, size, lf=False):
    """A plain-text message of `size` bytes (give or take a line): headers,
    then 76-character lines, one in ten starting with a dot. CRLF line ends
    (LF for smtp-source's -F, which appends CRLF to each line itself)."""
    nl = b"\n" if lf else b"\r\n"
    head = nl.join([
        b"From: Bench <bench@example.org>",
        b"To: r0@example.net",
        b"Subject: benchmark message",
        b"Date: Thu, 01 Jan 2026 00:00:00 +0000",
        b"Message-ID: <bench.1@example.org>",
        b"MIME-Version: 1.0",
        b"Content-Type: text/plain; charset=us-ascii",
        b"",
        b"",
    ])
    text = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen "
    lines = []
    for i in range(100):
        line = (text * 2)[i % 40:i % 40 + 76]
        if i % 10 == 3:
            line = b"." + line[1:]
        lines.append(line + nl)
    block = b"".join(lines)
    with open(path, "wb") as f:
        f.write(head)
        left = size - len(head)
        while left >= len(block):
            f.write(block)
            left -= len(block)
        tail = b""
        for line in lines:
            if len(tail) + len(line) > left:
                break
            tail += line
        f.write(tail)
    return os.path.getsize(path)


# ---------------------------------------------------------------- servers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, secs=10):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Sink:
    """smtp-sink on 127.0.0.1: no counters (-c off), no logging, a listen
    backlog of 1024 and up to 256 sessions; `-p` when told (no PIPELINING)."""

    def __init__(self, pipelining=True):
        self.port = free_port()
        cmd = [SINK, "-4"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        if not pipelining:
            cmd.append("-p")
        cmd += ["-m", "256", f"127.0.0.1:{self.port}", "1024"]
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_port(self.port):
            self.stop()
            sys.exit("smtp-sink did not start: " + " ".join(cmd))

    def cpu(self):
        """The sink's user+system CPU seconds so far."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return float("nan")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Postfix:
    """A private Postfix instance (interop/servers/postfix.sh) whose mail is
    discarded: the only server here with CHUNKING."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "postfix")
        self.port = free_port()
        ports = [str(self.port), str(free_port()), str(free_port())]
        script = os.path.join(REPO, "interop", "servers", "postfix.sh")
        r = subprocess.run(["bash", script, "start", self.dir] + ports,
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip() or r.stdout.strip())
        conf = os.path.join(self.dir, "conf")
        # Throw the mail away instead of running a delivery script per recipient.
        subprocess.run(["/usr/sbin/postconf", "-c", conf, "-e",
                        "default_transport=discard", "relay_transport=discard",
                        "local_transport=discard"], check=True, timeout=30)
        subprocess.run(["/usr/sbin/postfix", "-c", conf, "reload"],
                       check=True, capture_output=True, timeout=30)
        time.sleep(1)
        self.pid = None
        pidfile = os.path.join(self.dir, "queue", "pid", "master.pid")
        try:
            self.pid = int(open(pidfile).read().strip())
        except (OSError, ValueError):
            pass
        if not wait_port(self.port):
            self.stop()
            raise RuntimeError("postfix did not open its port")

    def cpu(self):
        """CPU seconds of every process of the instance (master and children)."""
        total = 0.0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
                if self.dir.encode() not in cmd and not self._child_of_master(pid):
                    continue
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                pass
        return total

    def _child_of_master(self, pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return self.pid is not None and int(f.read().rsplit(")", 1)[1].split()[1]) == self.pid
        except OSError:
            return False

    def stop(self):
        script = os.path.join(REPO, "interop", "servers", "postfix.sh")
        subprocess.run(["bash", script, "stop", self.dir], capture_output=True, timeout=60)


# ---------------------------------------------------------------- clients

class Client:
    def __init__(self, name, kind, extra=None, env=None, shipped=False):
        self.name = name
        self.kind = kind  # binary name, "smtplib" or "smtp-source"
        self.extra = extra or []
        self.env = env or {}
        self.shipped = shipped  # as shipped, without TCP_NODELAY: time-bounded

    def command(self, port, w, files):
        body = files[w["size"]]
        secs = SHIPPED_SECS if self.shipped else RUN_SECS
        common = [f"port={port}", f"count={w['count']}", f"body={body}",
                  f"rcpts={w.get('rcpts', 1)}", f"sessions={w.get('sessions', 1)}",
                  f"reconnect={int(w.get('reconnect', False))}",
                  f"stream={int(w.get('stream', False))}", f"max_secs={secs}"]
        if self.kind == "smtp-source":
            cmd = [SOURCE, "-4", "-M", "localhost", "-f", "bench@example.org",
                   "-t", "r0@example.net", "-F", files[("lf", w["size"])],
                   "-m", str(w["count"]), "-s", str(w.get("sessions", 1))]
            if w.get("rcpts", 1) > 1:
                cmd += ["-r", str(w["rcpts"])]
            if not w.get("reconnect", False):
                cmd.append("-d")
            return cmd + [f"127.0.0.1:{port}"]
        if self.kind == "smtplib":
            return [PYTHON, os.path.join(HERE, "smtplib_client.py")] + common
        return [os.path.join(BIN, self.kind)] + common + self.extra


def run_best(client, server, w, files):
    """The fastest of REPEAT runs (the machine is shared: the fastest run is
    the one least disturbed); a failure is reported as it is."""
    best = None
    for _ in range(1 if client.shipped else w.get("repeat", REPEAT)):
        r = run_client(client, server, w, files)
        if "error" in r:
            return r
        if best is None or r["wall"] / r["sent"] < best["wall"] / best["sent"]:
            best = r
    return best


def run_client(client, server, w, files):
    """Runs one client under `launch` (which takes its rusage, see
    src/bin/launch.rs) and returns its figures."""
    cmd = [os.path.join(BIN, "launch")] + client.command(server.port, w, files)
    env = dict(os.environ, **client.env)
    sink_before = server.cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    killed = False
    try:
        out, err = proc.communicate(timeout=KILL_AFTER)
    except subprocess.TimeoutExpired:
        killed = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    wall = time.perf_counter() - t0
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    sink_cpu = server.cpu() - sink_before
    sent, ru = None, None
    for line in out.splitlines():
        if line.startswith("RESULT"):
            sent = int(dict(kv.split("=") for kv in line.split()[1:])["sent"])
        if line.startswith("RUSAGE"):
            ru = {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    if client.kind == "smtp-source" and proc.returncode == 0:
        sent = w["count"]
    if proc.returncode != 0 or not sent or ru is None:
        why = f"killed after {KILL_AFTER} s" if killed else (err.strip()[-300:] or out[-300:])
        return {"name": client.name, "error": f"exit {proc.returncode}: {why}"}
    return {
        "name": client.name,
        "sent": sent,
        "wall": wall,
        "cpu": ru["utime"] + ru["stime"],
        "user": ru["utime"],
        "rss_kib": ru["maxrss_kib"],
        "sink_cpu": sink_cpu,
        "bytes": sent * w["bytes"],
        "partial": sent < w["count"],
    }


def clients_for(w):
    """The rows of a workload: ours first, then every peer that can run it."""
    tokio_only = w.get("sessions", 1) > 1
    rows = []
    if not tokio_only:
        rows.append(Client("ours (blocking)" if w.get("reconnect") or w.get("stream")
                           else "ours (blocking, send_many)", "ours"))
        if not w.get("stream") and not w.get("reconnect"):
            rows.append(Client("ours (blocking, send per message)", "ours", ["mode=one"]))
    rows.append(Client("ours (tokio)" if w.get("reconnect") or w.get("stream")
                       else "ours (tokio, send_many)",
                       "ours_tokio"))
    if tokio_only:
        rows.append(Client("ours (tokio Pool, send per message)", "ours_tokio", ["mode=pool"]))
    if not tokio_only:
        rows.append(Client("lettre blocking, as shipped", "lettre_blocking", shipped=True))
        rows.append(Client("lettre blocking, TCP_NODELAY", "lettre_blocking", ["nodelay=1"]))
    rows.append(Client("lettre tokio, as shipped", "lettre_tokio", shipped=True))
    rows.append(Client("lettre tokio, TCP_NODELAY", "lettre_tokio", ["nodelay=1"]))
    rows.append(Client("mail-send, as shipped", "mail_send", shipped=True))
    rows.append(Client("mail-send, TCP_NODELAY", "mail_send", ["nodelay=1"]))
    if not tokio_only:
        rows.append(Client("Python smtplib", "smtplib"))
    rows.append(Client("smtp-source", "smtp-source"))
    return rows


def fmt_rate(x):
    """msg/s as the tables print it: whole numbers, two decimals under 10
    (one 1 GiB message takes seconds)."""
    return f"{x:,.0f}" if x >= 10 else f"{x:.2f}"


def table(title, w, results):
    say(f"### {title}")
    say()
    chart_groups.append((group_label(title),
                         [(r["name"], r["sent"] / r["wall"]) for r in results if "error" not in r]))
    # The reference row: the first of ours (blocking send_many; tokio in W7).
    ours = next((r for r in results if r["name"].startswith("ours") and "error" not in r), None)
    say("| client | messages | msg/s | MB/s | CPU µs/msg | max RSS MiB | server CPU % | time/msg vs ours |")
    say("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        if "error" in r:
            say(f"| {r['name']} | failed: {r['error'].replace('|', '/')} | | | | | | |")
            continue
        per = r["wall"] / r["sent"]
        ratio = per / (ours["wall"] / ours["sent"]) if ours else float("nan")
        sent = f"{r['sent']:,}" + (" (time bound)" if r["partial"] else "")
        say(f"| {r['name']} | {sent} | {fmt_rate(r['sent'] / r['wall'])} | "
            f"{r['bytes'] / r['wall'] / 1e6:,.1f} | {r['cpu'] / r['sent'] * 1e6:,.1f} | "
            f"{r['rss_kib'] / 1024:,.1f} | {100 * r['sink_cpu'] / r['wall']:.0f} | {ratio:,.2f}x |")
    say()
    if ours:
        peers = [r for r in results if "error" not in r and not r["name"].startswith("ours")]
        if peers:
            best = min(peers, key=lambda r: r["wall"] / r["sent"])
            gain = (best["wall"] / best["sent"]) / (ours["wall"] / ours["sent"])
            rate = (f"{best['bytes'] / best['wall'] / 1e6:,.1f} MB/s" if w["bytes"] > 1 << 20
                    else f"{best['sent'] / best['wall']:,.0f} msg/s")
            say(f"Fastest peer: {best['name']}, {rate}; "
                f"{ours['name']} is {gain:,.2f}x as fast.")
            say()



# ---------------------------------------------------------------- chart

def group_label(title):
    """A table's title to the chart's group label: `W1`, `W1 no PIPELINING`,
    `W1 Postfix`."""
    head = title.split(":", 1)[0].strip()
    return head.replace(" without PIPELINING", " no PIPELINING").replace(" against Postfix", " Postfix")


def client_label(name):
    """One colour per client: `ours (blocking, send_many)` (W1) and `ours
    (blocking)` (W4, W6, the same binary and call) are one client."""
    return name.replace(", send_many)", ")")


# One colour per client: a family of shades per project (ours blue, lettre
# green, mail-send purple, smtplib red, smtp-source orange), each client the
# next shade of its family in the order clients first appear.
FAMILIES = [
    ("ours", ["#08306b", "#2171b5", "#6baed6", "#3f007d", "#807dba", "#0570b0", "#9ecae1"]),
    ("lettre", ["#00441b", "#41ab5d", "#006d2c", "#a1d99b"]),
    ("mail-send", ["#7a0177", "#f768a1"]),
    ("Python", ["#a50f15", "#fb6a4a"]),
    ("smtp-source", ["#e6550d", "#fdae6b"]),
    ("", ["#525252", "#969696", "#8c510a", "#bf812d"]),
]


def colours_for(clients):
    used, out = {}, {}
    for c in clients:
        fam, shades = next((f, sh) for f, sh in FAMILIES if c.startswith(f))
        i = used.get(fam, 0)
        used[fam] = i + 1
        out[c] = shades[i % len(shades)]
    return out


def esc(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;"))


def fmt_tick(v):
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def chart_svg(groups, title, subtitle=""):
    """Grouped bars, hand-written SVG: one group per workload, one bar per
    client present in it, one colour per client, a legend, axis labels; the
    y axis is logarithmic when the values span more than 100x."""
    groups = [(g, [(client_label(c), v) for c, v in rows if v > 0]) for g, rows in groups]
    groups = [(g, rows) for g, rows in groups if rows]
    clients = []
    for _, rows in groups:
        for c, _ in rows:
            if c not in clients:
                clients.append(c)
    colour = colours_for(clients)
    values = [v for _, rows in groups for _, v in rows]
    lo, hi = min(values), max(values)
    log = hi / lo > 100
    if log:
        y0, y1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        y1 = max(y1, y0 + 1)
        ticks = [10.0 ** e for e in range(y0, y1 + 1)]
        frac = lambda v: (math.log10(v) - y0) / (y1 - y0)
    else:
        step = 10 ** math.floor(math.log10(hi))
        step = step / 2 if hi / step < 3 else step
        top = math.ceil(hi / step) * step
        ticks = [i * step for i in range(int(round(top / step)) + 1)]
        frac = lambda v: v / top
    bar, gap, pad = 12, 18, 8
    left, right, top_m = 90, 20, 70
    plot_h = 360
    widths = [len(rows) * bar + 2 * pad for _, rows in groups]
    plot_w = sum(widths) + gap * (len(groups) - 1)
    width = left + plot_w + right
    legend_cols = max(1, min(4, int((width - left) // 250)))
    legend_rows = math.ceil(len(clients) / legend_cols)
    axis_y = top_m + plot_h
    height = axis_y + 70 + legend_rows * 20 + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2:.0f}" y="24" text-anchor="middle" font-size="16" '
           f'font-weight="bold">{esc(title)}</text>']
    if subtitle:
        out.append(f'<text x="{width / 2:.0f}" y="42" text-anchor="middle" fill="#444">'
                   f'{esc(subtitle)}</text>')
    out.append(f'<text x="{width / 2:.0f}" y="58" text-anchor="middle" fill="#444">'
               'W2, W3, W6 send 100 KiB, 10 MiB, 1 GiB messages (few per second by size); '
               'compare the bars of one group</text>')
    for t in ticks:
        y = axis_y - frac(t) * plot_h
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt_tick(t)}</text>')
    out.append(f'<line x1="{left}" y1="{top_m}" x2="{left}" y2="{axis_y}" stroke="black"/>')
    out.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="black"/>')
    ylabel = "messages per second" + (" (log scale)" if log else "")
    out.append(f'<text transform="translate(22,{top_m + plot_h / 2:.0f}) rotate(-90)" '
               f'text-anchor="middle">{ylabel}</text>')
    x = left
    for (g, rows), w in zip(groups, widths):
        for i, (c, v) in enumerate(rows):
            h = max(frac(v), 0) * plot_h
            bx = x + pad + i * bar
            out.append(f'<rect x="{bx}" y="{axis_y - h:.1f}" width="{bar - 1}" height="{h:.1f}" '
                       f'fill="{colour[c]}"><title>{esc(g)}: {esc(c)}, '
                       f'{fmt_rate(v)} msg/s</title></rect>')
        out.append(f'<text x="{x + w / 2:.0f}" y="{axis_y + 16}" text-anchor="middle">{esc(g)}</text>')
        x += w + gap
    out.append(f'<text x="{left + plot_w / 2:.0f}" y="{axis_y + 38}" text-anchor="middle">'
               f'workload</text>')
    ly = axis_y + 58
    col_w = (width - left) / legend_cols
    for i, c in enumerate(clients):
        lx = left + (i % legend_cols) * col_w
        yy = ly + (i // legend_cols) * 20
        out.append(f'<rect x="{lx:.0f}" y="{yy}" width="12" height="12" fill="{colour[c]}"/>')
        out.append(f'<text x="{lx + 18:.0f}" y="{yy + 11}">{esc(c)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def groups_from_results(text):
    """The (workload, [(client, msg/s)]) of every table in a results file
    written by this script. msg/s printed as a whole number under 10 (older
    files rounded W6's one 1 GiB message to 0) is recomputed from MB/s and
    the message size in the table's title."""
    groups, label, size = [], None, None
    units = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
    for line in text.splitlines():
        if line.startswith("### "):
            title = line[4:].strip()
            label = group_label(title)
            m = re.search(r"(\d+) (KiB|MiB|GiB)", title)
            size = int(m.group(1)) * units[m.group(2)] if m else None
            groups.append((label, []))
            continue
        if label is None or not line.startswith("| ") or line.startswith(("| client", "| ---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[1].startswith("failed"):
            continue
        try:
            rate = float(cells[2].replace(",", ""))
            mbs = float(cells[3].replace(",", ""))
        except ValueError:
            continue
        if rate < 10 and "." not in cells[2] and size:
            rate = mbs * 1e6 / size
        groups[-1][1].append((cells[0], rate))
    return [(g, rows) for g, rows in groups if rows]


def write_chart(groups, path, subtitle):
    svg = chart_svg(groups, "Throughput against smtp-sink on 127.0.0.1: messages per "
                    "second, higher is better", subtitle)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(svg)
    return path


def chart_from(argv):
    """`--chart-from RESULTS.md [--out FILE.svg]`: the chart of an earlier run."""
    src = argv[argv.index("--chart-from") + 1]
    out = argv[argv.index("--out") + 1] if "--out" in argv else os.path.join(HERE, "results", "throughput.svg")
    with open(src) as f:
        text = f.read()
    groups = groups_from_results(text)
    if not groups:
        sys.exit(f"no tables in {src}")
    m = re.search(r"^- commit: (.*?);", text, re.M)
    sub = f"{os.path.basename(src)}" + (f", commit {m.group(1)}" if m else "")
    print(write_chart(groups, out, sub))

# ---------------------------------------------------------------- main

def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = os.environ.get("BENCH_COMMIT") or subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    dirty = "" if os.environ.get("BENCH_COMMIT") else subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    say(f"- machine: {os.cpu_count()} CPUs, {model}, Linux {platform.release()}")
    say(f"- load average at start: {' '.join('%.2f' % x for x in os.getloadavg())}")
    say(f"- commit: {commit}{' (with uncommitted changes)' if dirty else ''}; "
        f"mode: {'quick (BENCH_QUICK=1)' if QUICK else 'full'}")
    pf = subprocess.run(["/usr/sbin/postconf", "-d", "-h", "mail_version"],
                        capture_output=True, text=True).stdout.strip()
    py = subprocess.run([PYTHON, "--version"], capture_output=True, text=True).stdout.strip()
    say(f"- peers: lettre 0.11.23, mail-send 0.7.0 (Cargo.lock), {py} smtplib, "
        f"Postfix {pf} smtp-source/smtp-sink")
    say()


def main():
    if "--chart-from" in sys.argv:
        return chart_from(sys.argv)
    for tool in (SINK, SOURCE):
        if not os.access(tool, os.X_OK):
            sys.exit(f"{tool} is missing: run ci/install-peers.sh")
    tmp = tempfile.mkdtemp(prefix="smtp-bench-")
    os.chmod(tmp, 0o755)  # Postfix's processes (not root) must reach its directory
    try:
        bench(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = os.environ.get("BENCH_OUT")
    if out:
        with open(out, "w") as f:
            f.write("\n".join(out_lines) + "\n")
    chart = os.environ.get("BENCH_CHART", os.path.join(HERE, "results", "throughput.svg"))
    if chart != "-" and chart_groups:
        commit = next((l for l in out_lines if l.startswith("- commit: ")), "- commit: ?")
        sub = commit[2:] + ", " + time.strftime("%Y-%m-%d %H:%M")
        print(f"chart: {write_chart(chart_groups, chart, sub)}", flush=True)


def bench(tmp):
    sizes = {"1k": 1024, "100k": 100 * 1024, "10m": 10 << 20,
             "1g": (100 << 20) if QUICK else (1 << 30)}
    files, real = {}, {}

    def ensure(size):
        if size not in files:
            path = os.path.join(tmp, f"msg-{size}.eml")
            real[size] = write_message(path, sizes[size])
            files[size] = path
            lf = os.path.join(tmp, f"msg-{size}.lf.eml")
            write_message(lf, sizes[size], lf=True)
            files[("lf", size)] = lf

    n1k, n100k, n10m = scale(10000), scale(1000), 1 if QUICK else 10
    n4, n5, n7 = scale(1000), scale(2000), scale(10000)
    big = "100 MiB" if QUICK else "1 GiB"
    W = [
        ("W1", f"{n1k:,} x 1 KiB, one recipient, one connection", dict(count=n1k, size="1k")),
        ("W2", f"{n100k:,} x 100 KiB, one connection", dict(count=n100k, size="100k")),
        ("W3", f"{n10m:,} x 10 MiB, one connection", dict(count=n10m, size="10m")),
        ("W4", f"{n4:,} x 1 KiB, a new connection each",
         dict(count=n4, size="1k", reconnect=True)),
        ("W5", f"{n5:,} x 1 KiB, 10 recipients", dict(count=n5, size="1k", rcpts=10)),
        ("W6", f"1 message of {big} streamed from a file",
         dict(count=1, size="1g", stream=True, repeat=1)),
        ("W7", f"{n7:,} x 1 KiB over 100 concurrent sessions (tokio)",
         dict(count=n7, size="1k", sessions=100)),
    ]
    selected = lambda name: (not ONLY or name in ONLY) and name not in SKIP
    say("## Throughput against smtp-sink on 127.0.0.1")
    say()
    machine()
    say("Columns: msg/s and MB/s from the wall time of the client process; CPU µs/msg = "
        "(user+system time of the client process, from wait4) / messages; max RSS of the "
        "client process; server CPU % = smtp-sink's CPU time over the wall time (100% = "
        "one core: the sink is the limit); time/msg vs ours = the row's wall time per "
        "message over ours (blocking send_many; tokio in W7). Each row is the fastest of "
        f"{REPEAT} runs (W6: one run); \"as shipped\" rows run once and stop after {SHIPPED_SECS} s "
        "(time bound).")
    say()
    sink = Sink(pipelining=True)
    try:
        for name, title, w in W:
            if not selected(name):
                continue
            ensure(w["size"])
            w["bytes"] = real[w["size"]]
            results = [run_best(c, sink, w, files) for c in clients_for(w)]
            table(f"{name}: {title}", w, results)
            if w["size"] == "1g":
                for k in ("1g", ("lf", "1g")):
                    os.unlink(files.pop(k))
    finally:
        sink.stop()

    if selected("NOPIPE"):
        nopipe = Sink(pipelining=False)
        say("## Without PIPELINING (smtp-sink -p)")
        say()
        try:
            for name, title, w in W:
                if name not in ("W1", "W5"):
                    continue
                ensure(w["size"])
                w["bytes"] = real[w["size"]]
                results = [run_best(c, nopipe, w, files) for c in clients_for(w)]
                table(f"{name} without PIPELINING: {title}", w, results)
        finally:
            nopipe.stop()

    if selected("CHUNKING"):
        say("## With CHUNKING: a private Postfix instance (mail discarded)")
        say()
        if os.geteuid() != 0 or not os.access("/usr/sbin/postfix", os.X_OK):
            say("Skipped: needs root and Postfix (ci/install-peers.sh).")
            return
        try:
            pf = Postfix(tmp)
        except Exception as e:  # noqa: BLE001 - report and go on
            say(f"Skipped: Postfix did not start: {e}")
            return
        try:
            w = dict(count=scale(2000), size="1k", bytes=0)
            ensure("1k")
            w["bytes"] = real["1k"]
            rows = [
                Client("ours (BDAT, CHUNKING used)", "ours", env={"BENCH_TLS_OFF": "1"}),
                Client("ours (DATA, CHUNKING not used)", "ours",
                       env={"BENCH_TLS_OFF": "1", "BENCH_NO_CHUNKING": "1"}),
                Client("ours (tokio, BDAT)", "ours_tokio", env={"BENCH_TLS_OFF": "1"}),
                Client("lettre blocking, TCP_NODELAY", "lettre_blocking", ["nodelay=1"]),
                Client("mail-send, TCP_NODELAY", "mail_send", ["nodelay=1"]),
                Client("Python smtplib", "smtplib"),
                Client("smtp-source", "smtp-source"),
            ]
            results = [run_best(c, pf, w, files) for c in rows]
            say("Postfix 3.7 writes every message to its queue (with fsync) before the "
                "discard transport drops it; server CPU % counts every process of the "
                "instance; STARTTLS is offered but no client uses it (ours with TLS off).")
            say()
            table(f"W1 against Postfix: {w['count']:,} x 1 KiB, one connection", w, results)
        finally:
            pf.stop()


if __name__ == "__main__":
    main()
