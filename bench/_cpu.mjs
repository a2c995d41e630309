// CPU time of a browser launched by this Node process, per thread, from /proc (Linux): where a
// bench's CPU goes (which process type, which thread), measured around one phase.
import fs from "node:fs";

const TICK_MS = 10; // USER_HZ = 100 on Linux

const read = (file) => { try { return fs.readFileSync(file, "utf8"); } catch { return null; } };
// fields after "(comm)": state ppid … utime (12th) stime (13th)
const stat = (text) => { const end = text.lastIndexOf(")"); return { comm: text.slice(text.indexOf("(") + 1, end), f: text.slice(end + 2).split(" ") }; };

/** Every thread of every process descended from this one: `pid/tid → {what, ticks}`, `what`
 * being the process's `--type` (browser, renderer, gpu-process, utility; a renderer with its
 * pid, one per page) and the thread's name. */
export function cpuThreads(root = process.pid) {
  const parent = new Map();
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const text = read(`/proc/${pid}/stat`);
    if (text) parent.set(Number(pid), Number(stat(text).f[1]));
  }
  const descends = (pid) => { for (let p = parent.get(pid); p; p = parent.get(p)) if (p === root) return true; return false; };
  const threads = new Map();
  for (const pid of parent.keys()) {
    if (!descends(pid)) continue;
    const cmd = read(`/proc/${pid}/cmdline`) ?? "";
    if (!cmd.includes("chrom")) continue;
    let type = /--type=([\w-]+)/.exec(cmd)?.[1] ?? "browser";
    if (type === "renderer") type += ` ${pid}`;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`, { withFileTypes: false })) {
      const text = read(`/proc/${pid}/task/${tid}/stat`);
      if (!text) continue;
      const { comm, f } = stat(text);
      threads.set(`${pid}/${tid}`, { what: `${type}: ${comm}`, ticks: Number(f[11]) + Number(f[12]) });
    }
  }
  return threads;
}

/** CPU ms spent between two `cpuThreads()` snapshots, per thread kind (summed over processes),
 * largest first, and the total. */
export function cpuSpent(before, after) {
  const byWhat = new Map();
  let total = 0;
  for (const [key, { what, ticks }] of after) {
    const ms = (ticks - (before.get(key)?.ticks ?? 0)) * TICK_MS;
    if (ms <= 0) continue;
    byWhat.set(what, (byWhat.get(what) ?? 0) + ms);
    total += ms;
  }
  return { total, kinds: [...byWhat].sort((x, y) => y[1] - x[1]) };
}

/** One line: CPU ms a message in total and for the largest thread kinds. */
export function cpuLine(spent, messages, top = 6) {
  const per = (ms) => (ms / messages).toFixed(2);
  return `CPU ${per(spent.total)} ms/message: ` + spent.kinds.slice(0, top).map(([what, ms]) => `${what} ${per(ms)}`).join(", ");
}

/** Start V8's sampling profiler in a Playwright page; `await stop()` gives its self time per
 * function (ms, largest first) and the profile's span. */
export async function profilePage(page, intervalUs = 200) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: intervalUs });
  await cdp.send("Profiler.start");
  return async () => {
    const { profile } = await cdp.send("Profiler.stop");
    await cdp.detach();
    const self = new Map(), byId = new Map(profile.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < profile.samples.length; i++) {
      const { callFrame: f } = byId.get(profile.samples[i]);
      const name = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}${f.url ? `:${f.lineNumber + 1}` : ""}`;
      self.set(name, (self.get(name) ?? 0) + profile.timeDeltas[i] / 1000);
    }
    return { spanMs: (profile.endTime - profile.startTime) / 1000, self: [...self].sort((x, y) => y[1] - x[1]) };
  };
}

/** The `top` functions of a `profilePage` result, ms a message each. */
export function profileLines(result, messages, top = 12) {
  return result.self.slice(0, top).map(([name, ms]) => `  ${(ms / messages).toFixed(3).padStart(7)} ms  ${name}`).join("\n");
}

/** UDP datagrams this network namespace dropped for a full receive buffer (/proc/net/snmp):
 * a data channel's packets lost on loopback when its reader falls behind. */
export function udpDrops() {
  const lines = (read("/proc/net/snmp") ?? "").split("\n").filter((l) => l.startsWith("Udp:"));
  if (lines.length < 2) return NaN;
  const [names, values] = lines.map((l) => l.trim().split(/\s+/));
  return Number(values[names.indexOf("RcvbufErrors")]);
}
