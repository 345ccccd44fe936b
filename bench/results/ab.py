import subprocess, time, sys, os
sys.path.insert(0, "/tmp/snap4/bench")
os.environ["BENCH_BIN"] = "/tmp/snap4/bench/target/release"
import run
sink = run.Sink(pipelining=True)
body = "/tmp/m1k.eml"
cases = [
  ("W1 send_many", "ours", ["count=10000"]),
  ("W1 send per message", "ours", ["count=10000", "mode=one"]),
  ("W4 new connection each", "ours", ["count=1000", "reconnect=1"]),
  ("W5 send_many, 10 rcpts", "ours", ["count=2000", "rcpts=10"]),
  ("W7 tokio 100 Sessions", "ours_tokio", ["count=10000", "sessions=100"]),
  ("W7 tokio Pool", "ours_tokio", ["count=10000", "sessions=100", "mode=pool"]),
]
snaps = {"before a87d10d": "/tmp/snap3/bench/target/release", "after a67f398": "/tmp/snap4/bench/target/release"}
best = {}
for rnd in range(5):
    for name, binary, extra in cases:
        for label, d in snaps.items():
            cmd = ["/tmp/snap4/bench/target/release/launch", f"{d}/{binary}", f"port={sink.port}", f"body={body}"] + extra
            t0 = time.perf_counter(); out = subprocess.run(cmd, capture_output=True, text=True).stdout; wall = time.perf_counter() - t0
            sent = int([l for l in out.splitlines() if l.startswith("RESULT")][0].split()[1].split("=")[1])
            ru = dict(kv.split("=") for kv in [l for l in out.splitlines() if l.startswith("RUSAGE")][0].split()[1:])
            cpu = float(ru["utime"]) + float(ru["stime"])
            k = (name, label)
            if k not in best or wall / sent < best[k][0] / best[k][1]:
                best[k] = (wall, sent, cpu)
sink.stop()
print("| workload | before (a87d10d) msg/s | after (a67f398) msg/s | before CPU µs/msg | after CPU µs/msg |")
print("| --- | ---: | ---: | ---: | ---: |")
for name, _, _ in cases:
    b = best[(name, "before a87d10d")]; a = best[(name, "after a67f398")]
    print(f"| {name} | {b[1]/b[0]:,.0f} | {a[1]/a[0]:,.0f} | {b[2]/b[1]*1e6:.1f} | {a[2]/a[1]*1e6:.1f} |")
print("load", os.getloadavg())
