// Desktop benchmark, run by scripts/bench-desktop (which builds both apps and provides Xvfb).
//
//   node tests/e2e/bench-desktop.mjs [--json FILE] [--rounds N]
//
// Measures the release pixie-desktop and a bare Tauri 2 hello-world (benches/hello-tauri, built
// with the same tauri crates, as create-tauri-app makes it) side by side in one run:
//   (a) stripped binary size
//   (b) start to a visible window: from the exec of the app to the MapNotify of its top-level
//       window on the X display (watched with `xev -root`), median of N launches per app,
//       alternating the apps (ABBA) so that drift in the machine's load hits both alike
//   (c) RSS and PSS after 10 s idle: the app and its descendants (WebKitWebProcess,
//       WebKitNetworkProcess), from /proc/<pid>/smaps_rollup; two launches per app, alternating
//   (d) Pixie only: the list's render time with 1,000 profiles (render_ms from its
//       "pixie-bench ready" stderr line), median of 3
// Every launch, of either app, runs in its own fresh private D-Bus session with an unlocked
// gnome-keyring (scripts/with-keyring): a fresh session bus starts the desktop portal on demand
// when GTK asks for its settings, which costs about a quarter of a second, so the two apps must
// pay it alike. Pixie gets 3 profiles on the test OpenID Provider except in (d).

import { spawn, execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { APP_BIN, ARTIFACTS, REPO, Provider, descendants, profilesToml, sleep, stopAll, tmpDir } from './harness.mjs';

const { values: args } = parseArgs({
  options: { json: { type: 'string' }, rounds: { type: 'string', default: '7' } },
});
const ROUNDS = Number(args.rounds);
const MEMORY_ROUNDS = 2;
const RENDER_RUNS = 3;
const IDLE_MS = 10000;
const LAUNCH_TIMEOUT_MS = 30000;
const GOAL_RATIO = 1.2;
const GOAL_RENDER_1000_MS = 100;

const targetDir = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache/pixie/target');
const HELLO_DIR = process.env.PIXIE_HELLO_DIR || path.join(targetDir, 'hello-tauri');
const HELLO_BIN = path.join(HELLO_DIR, 'target/release/hello-tauri');
const WITH_KEYRING = path.join(REPO, 'scripts/with-keyring');
const SESSION_LOG = path.join(ARTIFACTS, 'bench-sessions.log');

const MiB = 1024 * 1024;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** Wall-clock milliseconds with sub-millisecond precision, comparable with bash's $EPOCHREALTIME. */
const nowMs = () => performance.timeOrigin + performance.now();
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const startTime = (pid) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch { return null; }
};
const xprop = (args) => new Promise((resolve) => {
  execFile('xprop', args, { timeout: 5000 }, (err, stdout) => resolve(err ? '' : stdout));
});

/**
 * One `xev -root -event substructure` for the whole run: without a window manager every top-level
 * window's MapNotify reaches the root. Each event is stamped when its line arrives.
 */
class MapWatcher {
  static async start() {
    const w = new MapWatcher();
    w.events = [];
    w.waiters = new Set();
    w.child = spawn('stdbuf', ['-oL', 'xev', '-root', '-event', 'substructure'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let pendingT = null;
    createInterface({ input: w.child.stdout }).on('line', (line) => {
      if (line.startsWith('MapNotify event')) {
        pendingT = nowMs();
        return;
      }
      const m = pendingT !== null && line.match(/window (0x[0-9a-f]+), override (YES|NO)/);
      if (m) {
        const ev = { t: pendingT, window: m[1], override: m[2] === 'YES' };
        pendingT = null;
        w.events.push(ev);
        for (const f of w.waiters) f(ev);
      }
    });
    let err = '';
    w.child.stderr.on('data', (d) => { err += d; });
    // xev selects its events right after it connects; give it that moment, then check it lives.
    await sleep(500);
    if (w.child.exitCode !== null) throw new Error(`xev exited: ${err}`);
    return w;
  }

  /** The time of the first non-override-redirect MapNotify at or after `since` of a window of `pid`. */
  waitForWindow(pid, since, signal) {
    return new Promise((resolve, reject) => {
      let done = false;
      const consider = async (ev) => {
        if (done || ev.override || ev.t < since) return;
        const out = await xprop(['-id', ev.window, '_NET_WM_PID']);
        if (!done && Number(out.match(/= (\d+)/)?.[1]) === pid) {
          done = true;
          this.waiters.delete(consider);
          resolve(ev);
        }
      };
      this.waiters.add(consider);
      for (const ev of this.events) consider(ev);
      signal.addEventListener('abort', () => {
        done = true;
        this.waiters.delete(consider);
        reject(signal.reason);
      });
    });
  }

  stop() { try { this.child.kill('SIGKILL'); } catch { /* gone */ } }
}

const sessions = new Set(); // the with-keyring processes still running, each a group leader
process.on('exit', () => {
  for (const s of sessions) {
    for (const p of [s.pid, ...descendants(s.pid)]) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  }
});

const APPS = {
  pixie: { name: 'pixie-desktop', bin: APP_BIN, readyLine: true },
  hello: { name: 'hello-tauri', bin: HELLO_BIN, readyLine: false },
};

/**
 * Starts `app` in a fresh D-Bus session and waits for its visible window (and, for Pixie, the
 * "pixie-bench ready" line). Returns {pid, startMs, ready, stop()}; startMs counts from the exec
 * of the app itself, so the session's own start (bus, keyring) is not in it.
 */
async function launch(app, ctx, profiles) {
  const home = tmpDir('pixie-bench-home.');
  fs.writeFileSync(path.join(home, 'profiles.toml'), profiles);
  const t0File = path.join(home, 't0');
  const env = {
    ...process.env,
    PIXIE_BENCH: '1',
    PIXIE_BENCH_T0: t0File,
    PIXIE_HOME: home,
    PIXIE_KEYRING_SERVICE: `pixie-bench-${process.pid}`,
    NO_AT_BRIDGE: '1',
    XDG_CACHE_HOME: path.join(ctx.xdg, `cache-${app.name}`),
    XDG_CONFIG_HOME: path.join(ctx.xdg, 'config'),
  };
  // Inside the session: note our pid (the app's, after exec) and the time, then become the app.
  const inner = 'printf "%s %s\\n" "$$" "$EPOCHREALTIME" > "$PIXIE_BENCH_T0"; exec "$0"';
  const session = spawn(WITH_KEYRING, ['bash', '-c', inner, app.bin], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  sessions.add(session);
  let output = '';
  const collect = (d) => { output += d; };
  session.stdout.on('data', collect);
  session.stderr.on('data', collect);
  const ac = new AbortController();
  const exited = new Promise((resolve) => session.once('exit', (code, sig) => { sessions.delete(session); resolve(code ?? sig); }));
  const fail = (why) => new Error(`${app.name}: ${why}; the session's output ends with:\n${output.slice(-3000)}`);
  const timer = setTimeout(() => ac.abort(fail(`no window${app.readyLine ? ' and ready line' : ''} within ${LAUNCH_TIMEOUT_MS / 1000} s`)), LAUNCH_TIMEOUT_MS);
  exited.then((c) => ac.abort(fail(`the session ended (${c}) before the app was ready`)));

  let pid;
  let t0;
  const stop = async () => {
    clearTimeout(timer);
    // The app and its WebKit processes first: with-keyring then stops its keyring daemon and
    // dbus-run-session its bus. Whatever the session started (portals) must be gone too.
    const started = [session.pid, ...descendants(session.pid)].map((p) => [p, startTime(p)]);
    if (pid) {
      const app = [pid, ...descendants(pid)];
      for (const p of app) { try { process.kill(p, 'SIGTERM'); } catch { /* gone */ } }
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && app.some(alive)) await sleep(20);
      for (const p of app) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    }
    const gone = await Promise.race([exited.then(() => true), sleep(pid ? 5000 : 0).then(() => false)]);
    if (!gone) { try { process.kill(-session.pid, 'SIGKILL'); } catch { /* gone */ } }
    for (const [p, st] of started) {
      if (st && startTime(p) === st) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    }
    await exited;
    fs.appendFileSync(SESSION_LOG, `==== ${app.name} pid ${pid}\n${output}\n`);
    fs.rmSync(home, { recursive: true, force: true });
  };

  try {
    const aborted = new Promise((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason)));
    aborted.catch(() => undefined);
    // The pid and the exec time, written by bash just before it becomes the app.
    while (pid === undefined) {
      const m = (fs.existsSync(t0File) ? fs.readFileSync(t0File, 'utf8') : '').match(/^(\d+) (\d+)[.,](\d+)\n/);
      if (m) {
        pid = Number(m[1]);
        t0 = Number(m[2]) * 1000 + Number(`0.${m[3]}`) * 1000;
        break;
      }
      await Promise.race([sleep(5), aborted]);
    }
    const mapped = ctx.watcher.waitForWindow(pid, t0, ac.signal);
    const ready = app.readyLine ? readyLine(session, ac.signal) : Promise.resolve(null);
    const [win, line] = await Promise.all([mapped, ready]);
    clearTimeout(timer);
    return { pid, startMs: win.t - t0, ready: line && { ...line, wall_ms: line.t - t0 }, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Pixie's "pixie-bench ready ..." stderr line: {t, ms_since_start, render_ms, profiles}. */
function readyLine(session, signal) {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d) => {
      const t = nowMs();
      text += d;
      const m = text.match(/pixie-bench ready ms_since_start=([\d.]+) render_ms=([\d.]+) profiles=(\d+)/);
      if (m) {
        session.stderr.off('data', onData);
        resolve({ t, ms_since_start: Number(m[1]), render_ms: Number(m[2]), profiles: Number(m[3]) });
      }
    };
    session.stderr.on('data', onData);
    signal.addEventListener('abort', () => reject(signal.reason));
  });
}

/** {rssMiB, pssMiB, processes: [{pid, comm, rssMiB, pssMiB}]} for pid and its descendants. */
function memory(pid) {
  const processes = [];
  for (const p of [pid, ...descendants(pid)]) {
    try {
      const text = fs.readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      const kb = (k) => Number(text.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0);
      processes.push({
        pid: p,
        comm: fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim(),
        rssMiB: kb('Rss') / 1024,
        pssMiB: kb('Pss') / 1024,
      });
    } catch { /* gone, or not ours to read */ }
  }
  const sum = (k) => processes.reduce((a, p) => a + p[k], 0);
  return { rssMiB: sum('rssMiB'), pssMiB: sum('pssMiB'), processes };
}

/** The `tauri` version in a Cargo.lock. */
function tauriVersion(lock) {
  try {
    return fs.readFileSync(lock, 'utf8').match(/\nname = "tauri"\nversion = "([^"]+)"/)?.[1] ?? '?';
  } catch { return '?'; }
}

async function main() {
  for (const a of Object.values(APPS)) {
    if (!fs.existsSync(a.bin)) throw new Error(`no ${a.name} at ${a.bin}: run scripts/bench-desktop, which builds it`);
  }
  if (!process.env.DISPLAY) throw new Error('DISPLAY is not set: run this through scripts/bench-desktop');
  fs.writeFileSync(SESSION_LOG, '');
  const began = nowMs();
  const idp = await Provider.start({ logName: 'bench-provider' });
  const xdg = tmpDir('pixie-bench-xdg.');
  const ctx = { xdg, watcher: await MapWatcher.start() };
  const three = profilesToml(3, idp.issuer);
  const thousand = profilesToml(1000, idp.issuer);
  const out = {
    load_before: os.loadavg()[0],
    cpus: os.cpus().length,
    tauri: { pixie: tauriVersion(path.join(REPO, 'Cargo.lock')), hello: tauriVersion(path.join(HELLO_DIR, 'src/Cargo.lock')) },
    apps: {},
  };
  const order = (round) => (round % 2 ? ['hello', 'pixie'] : ['pixie', 'hello']);

  try {
    // (a)
    for (const [key, a] of Object.entries(APPS)) {
      out.apps[key] = { binary: a.bin, size_bytes: fs.statSync(a.bin).size, starts: [], memory: [] };
    }

    // One warm-up launch of each first (shared libraries into the page cache, WebKit's cache
    // dirs), so the measured runs are comparable; reported but not counted.
    for (const key of order(0)) {
      const r = await launch(APPS[key], ctx, three);
      out.apps[key].warmup_ms = r.startMs;
      await r.stop();
      await sleep(300);
    }

    // (b)
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const key of order(round)) {
        const r = await launch(APPS[key], ctx, three);
        out.apps[key].starts.push({ window_ms: r.startMs, ...(r.ready ?? {}) });
        await r.stop();
        await sleep(300);
      }
    }

    // (c)
    for (let round = 0; round < MEMORY_ROUNDS; round += 1) {
      for (const key of order(round)) {
        const r = await launch(APPS[key], ctx, three);
        await sleep(IDLE_MS);
        out.apps[key].memory.push(memory(r.pid));
        await r.stop();
        await sleep(300);
      }
    }

    // (d)
    const renders = [];
    for (let i = 0; i < RENDER_RUNS; i += 1) {
      const r = await launch(APPS.pixie, ctx, thousand);
      if (r.ready.profiles !== 1000) throw new Error(`pixie-desktop reported ${r.ready.profiles} profiles, not 1000`);
      renders.push({ window_ms: r.startMs, ...r.ready });
      await r.stop();
      await sleep(300);
    }
    out.render1000 = renders;
    out.load_after = os.loadavg()[0];
  } finally {
    ctx.watcher.stop();
    await idp.stop();
    await stopAll();
    fs.rmSync(xdg, { recursive: true, force: true });
  }

  for (const a of Object.values(out.apps)) {
    a.median_window_ms = median(a.starts.map((s) => s.window_ms));
    a.median_rss_mib = median(a.memory.map((m) => m.rssMiB));
    a.median_pss_mib = median(a.memory.map((m) => m.pssMiB));
  }
  out.apps.pixie.median_painted_ms = median(out.apps.pixie.starts.map((s) => s.wall_ms));
  out.median_render1000_ms = median(out.render1000.map((r) => r.render_ms));
  out.median_painted1000_ms = median(out.render1000.map((r) => r.wall_ms));
  out.seconds = (nowMs() - began) / 1000;

  if (args.json) fs.writeFileSync(args.json, JSON.stringify(out, null, 2));
  report(out);
}

function report(o) {
  const { pixie: p, hello: h } = o.apps;
  const f1 = (x) => x.toFixed(1);
  const ms = (x) => `${x.toFixed(0)} ms`;
  const mib = (x) => `${f1(x)} MiB`;
  const row = (figure, a, b, fmt) => {
    const r = a / b;
    return [figure, fmt(a), fmt(b), `${r.toFixed(2)}×`, `≤ ${GOAL_RATIO}×`, r <= GOAL_RATIO ? 'ok' : 'OVER'];
  };
  const rows = [
    ['figure', 'pixie-desktop', 'hello-tauri', 'ratio', 'goal', ''],
    row('stripped binary size', p.size_bytes / MiB, h.size_bytes / MiB, mib),
    row(`start → visible window (median of ${ROUNDS})`, p.median_window_ms, h.median_window_ms, ms),
    row(`RSS after 10 s idle (median of ${MEMORY_ROUNDS})`, p.median_rss_mib, h.median_rss_mib, mib),
    row(`PSS after 10 s idle (median of ${MEMORY_ROUNDS})`, p.median_pss_mib, h.median_pss_mib, mib),
    [`list render, 1,000 profiles (median of ${RENDER_RUNS})`, `${f1(o.median_render1000_ms)} ms`, '—', '—', `< ${GOAL_RENDER_1000_MS} ms`,
      o.median_render1000_ms < GOAL_RENDER_1000_MS ? 'ok' : 'OVER'],
    ['start → list painted, 3 profiles (info)', ms(p.median_painted_ms), '—', '—', '', ''],
    ['start → list painted, 1,000 profiles (info)', ms(o.median_painted1000_ms), '—', '—', '', ''],
  ];
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
  const line = (r) => r.map((c, i) => c + ' '.repeat(w[i] - [...c].length)).join('  ').trimEnd();
  console.log(line(rows[0]));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows.slice(1)) console.log(line(r));
  console.log();
  console.log(`sizes: pixie-desktop ${p.size_bytes} B, hello-tauri ${h.size_bytes} B; tauri ${o.tauri.pixie} / ${o.tauri.hello}, Pixie on its size-first profile, the hello-world on the template's (both stripped)`);
  console.log(`visible window, ms (warm-up not counted): pixie-desktop ${p.starts.map((s) => s.window_ms.toFixed(0)).join(', ')} (warm-up ${p.warmup_ms.toFixed(0)}); hello-tauri ${h.starts.map((s) => s.window_ms.toFixed(0)).join(', ')} (warm-up ${h.warmup_ms.toFixed(0)})`);
  console.log(`pixie-desktop list painted, 3 profiles (wall ms / app ms_since_start / render ms): ${p.starts.map((s) => `${s.wall_ms.toFixed(0)}/${s.ms_since_start.toFixed(0)}/${s.render_ms.toFixed(1)}`).join(', ')}`);
  console.log(`pixie-desktop 1,000 profiles (render ms / wall ms to painted): ${o.render1000.map((r) => `${r.render_ms.toFixed(1)}/${r.wall_ms.toFixed(0)}`).join(', ')}`);
  for (const [name, a] of [['pixie-desktop', p], ['hello-tauri', h]]) {
    console.log(`${name} memory by process (RSS/PSS MiB): ${a.memory.map((m) => m.processes.map((x) => `${x.comm} ${f1(x.rssMiB)}/${f1(x.pssMiB)}`).join(', ')).join(' | ')}`);
  }
  const busy = Math.max(o.load_before, o.load_after) > o.cpus * 0.5;
  console.log(`load average ${o.load_before.toFixed(2)} before, ${o.load_after.toFixed(2)} after, ${o.cpus} CPUs${busy ? ': the machine was busy, so the times are slower than on an idle one (the ratios hold better)' : ''}; ${o.seconds.toFixed(0)} s of measuring`);
  console.log('each launch: release build, Xvfb without a window manager, its own fresh D-Bus session with gnome-keyring; the start figure is exec → MapNotify of the top-level window.');
}

main().then(() => process.exit(0), (e) => {
  console.error(`bench-desktop: ${e.stack || e}`);
  process.exit(1);
});
